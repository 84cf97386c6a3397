-- NPS per day x channel (over stores, touchpoints and stages).
-- If marts.mart_cx_trend_by_channel_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
-- Every figure is computed in dbt (models/marts/mart_cx_trend_by_channel_daily.sql); this query only selects.
set variable cem_q = (
    select case when count(*) > 0 then $$    select feedback_day, channel, nps_n as n, nps, nps_margin_of_error, nps_ci_low, nps_ci_high
    from marts.mart_cx_trend_by_channel_daily where nps_n > 0 order by 1, 2
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_cx_trend_by_channel_daily'
);
select * from query(getvariable('cem_q'))
