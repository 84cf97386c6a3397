-- NPS per day, all channels, with the 95% margin of error and interval (DESIGN.md section 4).
-- If marts.mart_cx_trend_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
-- Every figure is computed in dbt (models/marts/mart_cx_trend_daily.sql); this query only selects.
set variable cem_q = (
    select case when count(*) > 0 then $$    select feedback_day, nps_n as n, promoters, detractors, nps, nps_margin_of_error, nps_ci_low, nps_ci_high,
           nps_small_n as small_n
    from marts.mart_cx_trend_daily where nps_n > 0 order by feedback_day
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_cx_trend_daily'
);
select * from query(getvariable('cem_q'))
