{{ config(materialized='view') }}
-- ml.sentence_scores as written by the ML assets (assets/ml.py): the one way models outside staging read it.
select * from {{ source('ml', 'sentence_scores') }}
