{{ config(materialized='view') }}
-- int_feedback__unioned placed on the customer journey (seed journey_touchpoints), with the customer's
-- key (null = anonymous), sentiment per record (stg_ml__sentiment_scores: the mean over a call's turns) and
-- a negative flag per record. A view: the incremental marts push their day filter into it.
with feedback as (
    select * from {{ ref('int_feedback__unioned') }}
),

journey as (
    select touchpoint, journey_stage, channel as journey_channel from {{ ref('journey_touchpoints') }}
),

stages as (
    select journey_stage, stage_order from {{ ref('journey_stages') }}
),

sentiment as (
    -- one score per record: the text's score, or the mean over a call's turns
    select source, record_id, avg(sentiment_score) as sentiment_score,
           min(sentiment_score) as sentiment_score_min
    from {{ ref('stg_ml__sentiment_scores') }}
    group by source, record_id
),

labels as (
    -- one label per record: the most frequent among its turns; a tie goes to the first in label order
    -- (negative, neutral, positive), the same on every engine (a plain mode() keeps whichever came first)
    select source, record_id, sentiment_label
    from (
        select source, record_id, sentiment_label, count(*) as n
        from {{ ref('stg_ml__sentiment_scores') }}
        where sentiment_label is not null
        group by source, record_id, sentiment_label
    ) as counted
    qualify row_number() over (partition by source, record_id order by n desc, sentiment_label) = 1
),

placed as (
    select
        f.feedback_id,
        f.source,
        f.record_id,
        f.feedback_day,
        f.occurred_at,
        f.channel,
        coalesce(f.store_id, '(none)') as store_id,
        coalesce(f.touchpoint, '(unknown)') as touchpoint,
        coalesce(j.journey_stage, '(unmapped)') as journey_stage,
        coalesce(s.stage_order, 99) as stage_order,
        f.survey_type,
        f.score,
        f.rating,
        f.feedback_text,
        f.lang,
        f.customer_key,
        sn.sentiment_score, sn.sentiment_score_min, lb.sentiment_label
    from feedback as f
    left join journey as j on j.touchpoint = f.touchpoint
    left join stages as s on s.journey_stage = j.journey_stage
    left join sentiment as sn on sn.source = f.source and sn.record_id = f.record_id
    left join labels as lb on lb.source = f.source and lb.record_id = f.record_id
)

select
    *,
    -- negative experience: NPS detractor, CSAT 1-2, CES 1-3, review 1-2 stars, else a negative text
    case
        when survey_type = 'nps' then score <= 6
        when survey_type = 'csat' then score <= 2
        when survey_type = 'ces' then score <= 3
        when rating is not null then rating <= 2
        when sentiment_label is not null then sentiment_label = 'negative'
    end as is_negative
from placed
