-- Closed-loop alerts (one per identified customer per day), most urgent first. Masked fields only.
-- If marts.mart_cx_alerts is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select alert_id, priority, severity, member_tier, alert_day, opened_at, due_at,
           list_aggregate(trigger_kinds, 'string_agg', ', ') as triggers, trigger_count, worst_source, channel,
           store_id, touchpoint, journey_stage, worst_nps_score, worst_csat_score, worst_rating,
           min_sentiment_score, feedback_excerpt
    from marts.mart_cx_alerts order by priority, due_at
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_cx_alerts'
);
select * from query(getvariable('cem_q'))
