-- Significant NPS / CSAT / CES drops (one alert per metric x segment x day, Benjamini-Hochberg q <= FDR; computed
-- in cem_pipeline/analytics/drops.py), newest first, the surest first within a day.
-- If analytics.mart_metric_alerts is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select as_of_day, opened_at, metric, segment_kind, segment_value, window_days, windows_flagged,
           current_n, baseline_n, current_value, baseline_value, change, change_ci_low, change_ci_high,
           p_value, q_value, drivers_moved, alert_id, alert_type
    from analytics.mart_metric_alerts
    order by as_of_day desc, opened_at desc nulls last, q_value, p_value, metric, segment_kind, segment_value
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'analytics' and table_name = 'mart_metric_alerts'
);
select * from query(getvariable('cem_q'))
