-- Every drop test of the latest run (metric x segment x window, drops or not), the most significant first:
-- the denominator of the metric alerts.
-- If analytics.metric_tests is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select as_of_day, metric, segment_kind, segment_value, window_days, current_n, baseline_n,
           current_value, baseline_value, change, change_ci_low, change_ci_high, z, p_value, q_value, is_drop
    from analytics.metric_tests
    order by q_value nulls last, p_value nulls last, metric, segment_kind, segment_value, window_days
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'analytics' and table_name = 'metric_tests'
);
select * from query(getvariable('cem_q'))
