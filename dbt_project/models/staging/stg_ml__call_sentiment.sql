{{ config(materialized='view') }}
-- ml.call_sentiment as written by the ML assets (assets/ml.py): the one way models outside staging read it.
select * from {{ source('ml', 'call_sentiment') }}
