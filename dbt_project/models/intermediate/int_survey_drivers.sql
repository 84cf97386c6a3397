-- One row per survey response (latest version): score, day, its segments (channel, touchpoint, journey stage,
-- store, the customer's member tier) and the drivers its comment mentions. A driver is topic x polarity:
-- `delivery_negative` when a sentence that mentions delivery (int_topic_mentions, seed topic_taxonomy) is
-- scored negative, `delivery_positive` when one is scored positive; neutral mentions drive nothing. The
-- inputs of the key-driver and metric-drop analyses (cem_pipeline/analytics) are built on it.
with responses as (
    select feedback_id, record_id, survey_type, score, feedback_day, channel, touchpoint, journey_stage, store_id,
           customer_key
    from {{ ref('int_feedback__journey') }}
    where source = 'surveys'
        and ((survey_type = 'nps' and score between 0 and 10)
            or (survey_type = 'csat' and score between 1 and 5)
            or (survey_type = 'ces' and score between 1 and 7))
),

tiers as (
    select k.customer_key, max({{ tier_rank('m.tier') }}) as tier_rank
    from {{ ref('int_identity__record_keys') }} as k
    inner join {{ ref('stg_crm__members') }} as m
        on k.entity = 'crm_members' and k.record_id = m.member_token
    group by k.customer_key
),

drivers as (
    select record_id, {{ string_agg_ordered('driver', "'|'", 'driver') }} as drivers
    from {{ ref('int_survey_driver_mentions') }}
    group by record_id
)

select
    r.*,
    {{ tier_name('t.tier_rank') }} as member_tier,
    coalesce(d.drivers, '') as drivers
from responses as r
left join tiers as t on t.customer_key = r.customer_key
left join drivers as d on d.record_id = r.record_id
