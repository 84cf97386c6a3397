{{ config(materialized='view') }}
-- ml.sentiment_scores as written by the ML assets (assets/ml.py): the one way models outside staging read it.
select * from {{ source('ml', 'sentiment_scores') }}
