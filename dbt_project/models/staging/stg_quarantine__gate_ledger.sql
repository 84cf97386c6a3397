{{ config(materialized='view') }}
-- quarantine.gate_ledger as written by the gates (cem_pipeline/gates.py): the one way the marts read it.
select * from {{ source('quarantine', 'gate_ledger') }}
