-- Experience -> outcomes, per customer (the input of mart_experience_outcomes and int_outcome_strata). One
-- row per identified customer x index kind (nps, csat) x horizon_days:
--   30, 90  the customer's latest NPS (or CSAT) answer on a day before as_of_day - horizon_days, and what
--           followed in the horizon_days after it (orders, repurchased, net spend, churned). as_of_day is the
--           latest day with an order, so every such window has ended: the observation window of the 90-day
--           outcome ends 91 days before it, that of the 30-day outcome 31 days before.
--   0       the customer's latest answer now (the current experience; outcome columns null): the current
--           detractors of the revenue at risk.
-- With the experience the answer records (NPS group, CSAT band), whether a closed-loop alert opened for the
-- customer that day (int_cx_alerts) and whether it was resolved (a call-centre call from the customer within
-- 7 days of the answer), the member tier (highest of the customer's accounts, now; 'none') and the tenure
-- band at the answer (days since first CRM registration). Association, not causation (README).
with keys as (
    select entity, record_id, customer_key
    from {{ ref('int_identity__record_keys') }}
    where customer_key is not null
),

orders as (
    select k.customer_key, o.ordered_at, case when o.status = 'refunded' then 0 else o.amount end as net_amount
    from keys as k
    inner join {{ ref('stg_crm__orders') }} as o on k.entity = 'crm_orders' and k.record_id = o.order_id
    where o.ordered_at is not null
),

registered as (
    select k.customer_key, min(cast(c.created_at as date)) as first_day
    from keys as k
    inner join {{ ref('stg_crm__customers') }} as c on k.entity = 'crm_customers' and k.record_id = c.customer_id
    group by k.customer_key
),

bounds as (
    select max(cast(ordered_at as date)) as as_of_day from orders
),

horizons as (
    select 0 as horizon_days
    union all select 30
    union all select 90
),

answers as (
    select s.customer_key, s.record_id, s.survey_type, s.score, s.feedback_day, s.member_tier, j.occurred_at
    from {{ ref('int_survey_drivers') }} as s
    inner join {{ ref('int_feedback__journey') }} as j on j.feedback_id = s.feedback_id
    where s.customer_key is not null and s.survey_type in ('nps', 'csat')
),

indexed as (
    select a.*, h.horizon_days, b.as_of_day
    from answers as a
    cross join horizons as h
    cross join bounds as b
    where h.horizon_days = 0 or a.feedback_day < b.as_of_day - h.horizon_days
    qualify row_number() over (
        partition by a.customer_key, a.survey_type, h.horizon_days order by a.occurred_at desc, a.record_id desc) = 1
),

alerts as (
    select customer_key, alert_day from {{ ref('int_cx_alerts') }}
),

calls as (
    select customer_key, occurred_at from {{ ref('int_feedback__journey') }}
    where source = 'calls' and customer_key is not null
),

resolved as (
    select i.customer_key, i.survey_type, i.horizon_days
    from indexed as i
    inner join calls as c
        on c.customer_key = i.customer_key and c.occurred_at > i.occurred_at
        and c.occurred_at <= {{ add_hours('i.occurred_at', 7 * 24) }}
    group by i.customer_key, i.survey_type, i.horizon_days
),

followed as (
    select
        i.customer_key, i.survey_type, i.horizon_days,
        count(o.ordered_at) as orders,
        coalesce(sum(o.net_amount), 0) as net_spend
    from indexed as i
    left join orders as o
        on o.customer_key = i.customer_key and i.horizon_days > 0 and o.ordered_at > i.occurred_at
        and o.ordered_at <= {{ add_hours('i.occurred_at', 'i.horizon_days * 24') }}
    group by i.customer_key, i.survey_type, i.horizon_days
)

select
    i.as_of_day,
    i.horizon_days,
    i.customer_key,
    i.survey_type as index_kind,
    i.record_id as index_record_id,
    i.occurred_at as index_at,
    i.feedback_day as index_day,
    i.score,
    case when i.survey_type = 'nps' then
        case when i.score >= 9 then 'promoter' when i.score >= 7 then 'passive' else 'detractor' end
    end as nps_group,
    case when i.survey_type = 'csat' then
        case when i.score >= 4 then 'satisfied' when i.score = 3 then 'neutral' else 'dissatisfied' end
    end as csat_band,
    case when a.customer_key is null then 'no_alert' when r.customer_key is not null then 'resolved'
        else 'unresolved' end as alert_status,
    coalesce(i.member_tier, 'none') as member_tier,
    {{ tenure_band('g.first_day', 'i.feedback_day') }} as tenure_band,
    case when i.horizon_days > 0 then f.orders end as orders,
    case when i.horizon_days > 0 then f.orders > 0 end as repurchased,
    case when i.horizon_days > 0 then cast(f.net_spend as double) end as net_spend,
    case when i.horizon_days = 90 then f.orders = 0 end as churned
from indexed as i
inner join followed as f
    on f.customer_key = i.customer_key and f.survey_type = i.survey_type and f.horizon_days = i.horizon_days
left join alerts as a on a.customer_key = i.customer_key and a.alert_day = i.feedback_day
left join resolved as r
    on r.customer_key = i.customer_key and r.survey_type = i.survey_type and r.horizon_days = i.horizon_days
left join registered as g on g.customer_key = i.customer_key
