{{ config(materialized='view') }}
-- quarantine.schema_drift as written by the gates (cem_pipeline/gates.py): the one way the marts read it.
select * from {{ source('quarantine', 'schema_drift') }}
