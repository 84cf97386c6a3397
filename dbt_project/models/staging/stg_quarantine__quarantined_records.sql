{{ config(materialized='view') }}
-- quarantine.quarantined_records as written by the gates (cem_pipeline/gates.py): the one way the marts read it.
select * from {{ source('quarantine', 'quarantined_records') }}
