-- Experience -> outcomes (README "What happens after an experience"): per horizon (30, 90 days), experience
-- dimension (nps_group, csat_band, alert_status) and value, and segment (overall, member tier, tenure band),
-- the customers whose latest answer on a day before as_of_day - horizon had that experience, and what they did
-- in the horizon days after it: repurchase rate (Wilson 95%), spend per customer (normal 95%) and churn (no
-- order in 90 days; Wilson). On the NPS detractor rows, the revenue at risk: the current detractors (latest
-- answer now) x (promoters' - detractors' spend per customer in the horizon, same segment), with its 95%
-- interval. Association, not causation: tier and tenure move both experience and spend; the adjusted
-- promoter - detractor difference is analytics.mart_outcome_effects.
with outcomes as (
    select * from {{ ref('int_customer_outcomes') }}
),

experiences as (
    select o.*, 'nps_group' as dimension, nps_group as experience from outcomes as o where index_kind = 'nps'
    union all
    select o.*, 'alert_status' as dimension, alert_status as experience from outcomes as o where index_kind = 'nps'
    union all
    select o.*, 'csat_band' as dimension, csat_band as experience from outcomes as o where index_kind = 'csat'
),

segmented as (
    select e.*, 'overall' as segment_kind, 'all' as segment_value from experiences as e
    union all
    select e.*, 'member_tier' as segment_kind, member_tier as segment_value from experiences as e
    union all
    select e.*, 'tenure_band' as segment_kind, tenure_band as segment_value from experiences as e
),

now_counts as (
    select dimension, experience, segment_kind, segment_value, count(*) as current_customers
    from segmented
    where horizon_days = 0
    group by dimension, experience, segment_kind, segment_value
),

cells as (
    select
        as_of_day, horizon_days, dimension, experience, segment_kind, segment_value,
        count(*) as customers,
        sum(case when repurchased then 1 else 0 end) as repurchasers,
        sum(case when churned then 1 else 0 end) as churners,
        avg(net_spend) as spend,
        stddev_samp(net_spend) as spend_sd,
        avg(cast(orders as double)) as orders_per_customer
    from segmented
    where horizon_days > 0
    group by as_of_day, horizon_days, dimension, experience, segment_kind, segment_value
),

promoters as (
    select horizon_days, segment_kind, segment_value, customers, spend, spend_sd
    from cells
    where dimension = 'nps_group' and experience = 'promoter'
)

select
    c.as_of_day,
    c.horizon_days,
    c.dimension,
    c.experience,
    c.segment_kind,
    c.segment_value,
    c.customers,
    c.customers < {{ var('small_n_threshold') }} as small_n,
    c.repurchasers,
    {{ share('c.repurchasers', 'c.customers') }} as repurchase_rate,
    {{ wilson_low('c.repurchasers', 'c.customers') }} as repurchase_ci_low,
    {{ wilson_high('c.repurchasers', 'c.customers') }} as repurchase_ci_high,
    {{ round_float('c.orders_per_customer', 6) }} as orders_per_customer,
    {{ round_float('c.spend', 6) }} as spend_per_customer,
    {{ mean_ci_low('c.spend', 'c.spend_sd', 'c.customers') }} as spend_ci_low,
    {{ mean_ci_high('c.spend', 'c.spend_sd', 'c.customers') }} as spend_ci_high,
    case when c.horizon_days = 90 then {{ share('c.churners', 'c.customers') }} end as churn_rate,
    case when c.horizon_days = 90 then {{ wilson_low('c.churners', 'c.customers') }} end as churn_ci_low,
    case when c.horizon_days = 90 then {{ wilson_high('c.churners', 'c.customers') }} end as churn_ci_high,
    coalesce(n.current_customers, 0) as current_customers,
    case when c.dimension = 'nps_group' and c.experience = 'detractor' then
        {{ round_float('coalesce(n.current_customers, 0) * (p.spend - c.spend)', 2) }} end as revenue_at_risk,
    case when c.dimension = 'nps_group' and c.experience = 'detractor' then
        {{ round_float('coalesce(n.current_customers, 0) * (p.spend - c.spend - '
            ~ mean_difference_margin_of_error('p.spend_sd', 'p.customers', 'c.spend_sd', 'c.customers') ~ ')', 2) }}
    end as revenue_at_risk_ci_low,
    case when c.dimension = 'nps_group' and c.experience = 'detractor' then
        {{ round_float('coalesce(n.current_customers, 0) * (p.spend - c.spend + '
            ~ mean_difference_margin_of_error('p.spend_sd', 'p.customers', 'c.spend_sd', 'c.customers') ~ ')', 2) }}
    end as revenue_at_risk_ci_high
from cells as c
left join now_counts as n
    on n.dimension = c.dimension and n.experience = c.experience and n.segment_kind = c.segment_kind
    and n.segment_value = c.segment_value
left join promoters as p
    on p.horizon_days = c.horizon_days and p.segment_kind = c.segment_kind and p.segment_value = c.segment_value
