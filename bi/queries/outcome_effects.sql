-- Promoter - detractor differences per horizon and metric, naive and adjusted for member tier x tenure band
-- (analytics.mart_outcome_effects, cem_pipeline/analytics/outcomes.py), latest as-of day. No rows when not
-- published yet.
set variable cem_q = (
    select case when count(*) > 0 then $$    select as_of_day, horizon_days, metric, comparison, adjusted_for, promoters, detractors,
           naive_difference, naive_ci_low, naive_ci_high, adjusted_difference, adjusted_ci_low, adjusted_ci_high,
           strata_used, strata_dropped
    from analytics.mart_outcome_effects
    where as_of_day = (select max(as_of_day) from analytics.mart_outcome_effects)
    order by horizon_days, metric
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'analytics' and table_name = 'mart_outcome_effects'
);
select * from query(getvariable('cem_q'))
