-- One row per customer (customer_key): who they are (masked display fields only), their membership,
-- orders and spend, every channel they used, their latest NPS / CSAT / CES and their feedback.
with keys as (
    select entity, record_id, customer_key
    from {{ ref('int_identity__record_keys') }}
    where customer_key is not null
),

customers as (
    select k.customer_key, c.*
    from keys as k
    inner join {{ ref('stg_crm__customers') }} as c
        on k.entity = 'crm_customers' and k.record_id = c.customer_id
),

customer_agg as (
    select customer_key, count(*) as crm_records, min(created_at) as first_registered_at
    from customers
    group by customer_key
),

-- Display fields come from the customer's oldest CRM record (its first registration).
display as (
    select customer_key, customer_id as primary_customer_id, name_masked, phone_masked, email_masked,
        gender, city, preferred_language, birth_year
    from customers
    qualify row_number() over (partition by customer_key order by created_at nulls last, customer_id) = 1
),

members as (
    select k.customer_key, m.*, {{ tier_rank('tier') }} as tier_rank
    from keys as k
    inner join {{ ref('stg_crm__members') }} as m
        on k.entity = 'crm_members' and k.record_id = m.member_token
),

member_agg as (
    select
        customer_key,
        count(*) as member_accounts,
        max(tier_rank) as tier_rank,
        sum(points) as member_points,
        min(joined_at) as member_since
    from members
    group by customer_key
),

orders as (
    select k.customer_key, o.*
    from keys as k
    inner join {{ ref('stg_crm__orders') }} as o
        on k.entity = 'crm_orders' and k.record_id = o.order_id
),

order_agg as (
    select
        customer_key,
        count(*) as order_count,
        sum(case when status = 'refunded' then 0 else amount end) as total_spend,
        sum(case when status = 'refunded' then 1 else 0 end) as refunded_orders,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders
    group by customer_key
),

feedback as (
    select * from {{ ref('int_feedback__unioned') }} where customer_key is not null
),

feedback_agg as (
    select
        customer_key,
        count(*) as feedback_count,
        sum(case when source = 'surveys' then 1 else 0 end) as survey_responses,
        sum(case when source = 'reviews' then 1 else 0 end) as reviews,
        sum(case when source = 'social' then 1 else 0 end) as social_posts,
        sum(case when source = 'calls' then 1 else 0 end) as calls,
        avg(sentiment_score) as avg_sentiment,
        min(occurred_at) as first_feedback_at,
        max(occurred_at) as last_feedback_at
    from feedback
    group by customer_key
),

latest_scores as (
    select
        customer_key,
        max(case when survey_type = 'nps' then score end) as latest_nps,
        max(case when survey_type = 'csat' then score end) as latest_csat,
        max(case when survey_type = 'ces' then score end) as latest_ces,
        max(case when survey_type = 'nps' then occurred_at end) as latest_nps_at
    from (
        select *
        from feedback
        where source = 'surveys'
        qualify row_number() over (
            partition by customer_key, survey_type order by occurred_at desc, record_id desc) = 1
    )
    group by customer_key
),

channels as (
    select customer_key, {{ string_agg_ordered('channel', "','", 'channel') }} as channels_used,
        count(*) as channel_count
    from (
        select distinct customer_key, channel from orders
        union
        select distinct customer_key, channel from feedback
    )
    group by customer_key
),

-- Every alert counts as open: the pipeline has no feed of case resolutions yet (see the yml).
alerts as (
    select customer_key, count(*) as open_alerts, max(opened_at) as last_alert_at
    from {{ ref('int_cx_alerts') }}
    group by customer_key
),

all_keys as (
    select distinct customer_key from keys where entity in ('crm_customers', 'crm_members')
)

select
    k.customer_key,
    -- masked display fields (never a readable identifier)
    d.name_masked,
    d.phone_masked,
    d.email_masked,
    d.gender,
    d.city,
    d.preferred_language,
    d.birth_year,
    -- membership
    {{ tier_name('m.tier_rank') }} as member_tier,
    coalesce(m.member_accounts, 0) as member_accounts,
    m.member_points,
    m.member_since,
    coalesce(c.crm_records, 0) as crm_records,
    -- activity
    least(c.first_registered_at, m.member_since, o.first_order_at, f.first_feedback_at) as first_seen_at,
    greatest(o.last_order_at, f.last_feedback_at, c.first_registered_at, m.member_since) as last_seen_at,
    ch.channels_used,
    coalesce(ch.channel_count, 0) as channel_count,
    coalesce(o.order_count, 0) as order_count,
    coalesce(o.total_spend, 0) as total_spend,
    coalesce(o.refunded_orders, 0) as refunded_orders,
    o.last_order_at,
    -- voice of the customer
    s.latest_nps,
    s.latest_csat,
    s.latest_ces,
    coalesce(f.feedback_count, 0) as feedback_count,
    coalesce(f.survey_responses, 0) as survey_responses,
    coalesce(f.reviews, 0) as review_count,
    coalesce(f.social_posts, 0) as social_post_count,
    coalesce(f.calls, 0) as call_count,
    f.last_feedback_at,
    -- mean sentiment_score of the customer's scored feedback (null until the ML assets scored any)
    cast(f.avg_sentiment as double) as avg_sentiment,
    -- closed loop
    cast(coalesce(a.open_alerts, 0) as integer) as open_alerts,
    a.last_alert_at
from all_keys as k
left join display as d on d.customer_key = k.customer_key
left join customer_agg as c on c.customer_key = k.customer_key
left join member_agg as m on m.customer_key = k.customer_key
left join order_agg as o on o.customer_key = k.customer_key
left join feedback_agg as f on f.customer_key = k.customer_key
left join latest_scores as s on s.customer_key = k.customer_key
left join channels as ch on ch.customer_key = k.customer_key
left join alerts as a on a.customer_key = k.customer_key
