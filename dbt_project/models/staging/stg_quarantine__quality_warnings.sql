{{ config(materialized='view') }}
-- quarantine.quality_warnings as written by the gates (cem_pipeline/gates.py): the one way the marts read it.
select * from {{ source('quarantine', 'quality_warnings') }}
