-- The stratified promoter - detractor comparison's input (cem_pipeline/analytics/outcomes.py): per horizon,
-- outcome metric, stratum (member tier x tenure band, and 'all' for the unadjusted comparison) and NPS group
-- (promoters, detractors of the customers' latest NPS answer, int_customer_outcomes), the customers, the
-- metric's value and its standard error (the macros' margins at z = 1: a proportion's for the repurchase and
-- churn rates, a mean's for spend per customer).
with cohort as (
    select as_of_day, horizon_days, nps_group, member_tier, tenure_band, repurchased, churned, net_spend
    from {{ ref('int_customer_outcomes') }}
    where index_kind = 'nps' and horizon_days > 0 and nps_group in ('promoter', 'detractor')
),

stratified as (
    select *, member_tier || '|' || tenure_band as stratum from cohort
    union all
    select *, 'all' as stratum from cohort
),

counted as (
    select
        as_of_day, horizon_days, stratum, nps_group,
        min(member_tier) as member_tier,
        min(tenure_band) as tenure_band,
        count(*) as customers,
        sum(case when repurchased then 1 else 0 end) as repurchasers,
        sum(case when churned then 1 else 0 end) as churners,
        avg(net_spend) as spend,
        stddev_samp(net_spend) as spend_sd
    from stratified
    group by as_of_day, horizon_days, stratum, nps_group
)

select as_of_day, horizon_days, 'repurchase_rate' as metric, stratum,
    case when stratum = 'all' then null else member_tier end as member_tier,
    case when stratum = 'all' then null else tenure_band end as tenure_band,
    nps_group, customers,
    {{ share('repurchasers', 'customers') }} as value,
    {{ share_margin_of_error('repurchasers', 'customers', z=1) }} as standard_error
from counted
union all
select as_of_day, horizon_days, 'churn_rate', stratum,
    case when stratum = 'all' then null else member_tier end,
    case when stratum = 'all' then null else tenure_band end,
    nps_group, customers,
    {{ share('churners', 'customers') }},
    {{ share_margin_of_error('churners', 'customers', z=1) }}
from counted
where horizon_days = 90
union all
select as_of_day, horizon_days, 'spend_per_customer', stratum,
    case when stratum = 'all' then null else member_tier end,
    case when stratum = 'all' then null else tenure_band end,
    nps_group, customers,
    {{ round_float('spend', 6) }},
    case when customers > 1 then {{ mean_margin_of_error('spend_sd', 'customers', z=1) }} end
from counted
