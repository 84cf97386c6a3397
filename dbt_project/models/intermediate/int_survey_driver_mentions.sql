{{ config(materialized='view') }}
-- One row per survey response x driver its comment mentions (see int_survey_drivers).
select distinct m.record_id, m.topic || '_' || m.sentiment_label as driver
from {{ ref('int_topic_mentions') }} as m
where m.source = 'surveys' and m.sentiment_label in ('negative', 'positive')
