-- depends_on: {{ ref('stg_crm__members') }}
-- Closed loop (DESIGN.md §4): one alert per identified customer (customer_key not null) per local day
-- when that day they gave an NPS detractor score (0-6), a CSAT of 1-2, a review of 1-2 stars, or a
-- review / call whose sentiment score is <= -0.6 (stg_ml__sentiment_scores).
-- Severity: critical (NPS 0-3, CSAT 1, 1 star, sentiment <= -0.85), else high. Priority and SLA
-- hours come from seed alert_sla (member tier x severity); due_at = first trigger + SLA.
-- alert_id = md5(customer_key || ':' || day): reruns never produce a second alert for the same
-- customer and day. Masked fields only: keys, scores, and text that the privacy gate redacted.
{%- set record_keys = none %}
{%- if execute %}
    {%- set record_keys = adapter.get_relation(database=target.database, schema='intermediate', identifier='int_identity__record_keys') %}
{%- endif %}
with feedback as (
    select * from {{ ref('int_feedback__journey') }}
    where customer_key is not null
),

triggers as (
    select
        *,
        case
            when survey_type = 'nps' and score between 0 and 6 then 'nps_detractor'
            when survey_type = 'csat' and score between 1 and 2 then 'low_csat'
            when source = 'reviews' and rating between 1 and 2 then 'negative_review'
            when source = 'reviews' and sentiment_score <= -0.6 then 'negative_review'
            when source = 'calls' and sentiment_score <= -0.6 then 'negative_call'
        end as trigger_kind,
        case
            when survey_type = 'nps' and score between 0 and 3 then 'critical'
            when survey_type = 'csat' and score = 1 then 'critical'
            when source = 'reviews' and rating = 1 then 'critical'
            when source in ('reviews', 'calls') and sentiment_score <= -0.85 then 'critical'
            else 'high'
        end as severity
    from feedback
),

hits as (
    select *, case severity when 'critical' then 2 else 1 end as severity_rank
    from triggers
    where trigger_kind is not null
),

tiers as (
    {% if record_keys is not none %}
    select k.customer_key,
           max_by(m.tier, case m.tier when 'platinum' then 4 when 'gold' then 3 when 'silver' then 2 else 1 end) as member_tier
    from {{ record_keys }} as k
    inner join {{ ref('stg_crm__members') }} as m on k.entity = 'crm_members' and k.record_id = m.member_token
    where k.customer_key is not null
    group by k.customer_key
    {% else %}
    select cast(null as bigint) as customer_key, cast(null as string) as member_tier where false
    {% endif %}
),

per_day as (
    select
        customer_key,
        feedback_day as alert_day,
        count(*) as trigger_count,
        max(severity_rank) as severity_rank,
        min(occurred_at) as first_trigger_at,
        {{ list_agg_ordered('feedback_id', order_by=['occurred_at', 'feedback_id']) }} as feedback_ids,
        {{ list_agg_ordered('trigger_kind', distinct=true) }} as trigger_kinds,
        min(score) filter (where survey_type = 'nps') as worst_nps_score,
        min(score) filter (where survey_type = 'csat') as worst_csat_score,
        min(rating) as worst_rating,
        min(sentiment_score) as min_sentiment_score
    from hits
    group by customer_key, feedback_day
),

worst as (
    -- the worst trigger of the day: most severe, then earliest, then the first feedback_id
    select customer_key, feedback_day, feedback_id as worst_feedback_id
    from hits
    qualify row_number() over (
        partition by customer_key, feedback_day order by severity_rank desc, occurred_at, feedback_id) = 1
)

select
    md5(cast(d.customer_key as string) || ':' || cast(d.alert_day as string)) as alert_id,
    d.customer_key,
    d.alert_day,
    coalesce(t.member_tier, 'none') as member_tier,
    case d.severity_rank when 2 then 'critical' else 'high' end as severity,
    s.priority,
    s.sla_hours,
    d.first_trigger_at as opened_at,
    {{ add_hours('d.first_trigger_at', 's.sla_hours') }} as due_at,
    d.trigger_count,
    d.trigger_kinds,
    d.feedback_ids,
    x.worst_feedback_id,
    w.source as worst_source,
    w.channel,
    w.store_id,
    w.touchpoint,
    w.journey_stage,
    d.worst_nps_score,
    d.worst_csat_score,
    d.worst_rating,
    {{ round_float('d.min_sentiment_score', 4) }} as min_sentiment_score,
    left(w.feedback_text, 280) as feedback_excerpt
from per_day as d
inner join worst as x on x.customer_key = d.customer_key and x.feedback_day = d.alert_day
left join tiers as t on t.customer_key = d.customer_key
left join {{ ref('alert_sla') }} as s
    on s.member_tier = coalesce(t.member_tier, 'none')
    and s.severity = case d.severity_rank when 2 then 'critical' else 'high' end
inner join hits as w on w.feedback_id = x.worst_feedback_id
