-- CSAT per day, all channels, with the 95% Wilson interval (csat_ci_*) and the normal margin of error.
-- If marts.mart_cx_trend_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
-- Every figure is computed in dbt (models/marts/mart_cx_trend_daily.sql); this query only selects.
set variable cem_q = (
    select case when count(*) > 0 then $$    select feedback_day, csat_n as n, csat, csat_ci_low, csat_ci_high, csat_margin_of_error
    from marts.mart_cx_trend_daily where csat_n > 0 order by feedback_day
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_cx_trend_daily'
);
select * from query(getvariable('cem_q'))
