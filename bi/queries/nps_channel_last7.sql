-- NPS per channel over the last 7 days of data, with n and the 95% margin of error; the headline table of the overview.
-- If marts.mart_nps_by_channel_last_7_days is not in the BI file yet this returns no rows, and the page says "not built yet".
-- Every figure is computed in dbt (models/marts/mart_nps_by_channel_last_7_days.sql); this query only selects.
set variable cem_q = (
    select case when count(*) > 0 then $$    select channel, n, promoters, detractors, nps, nps_margin_of_error, nps_ci_low, nps_ci_high, small_n,
           first_day, last_day
    from marts.mart_nps_by_channel_last_7_days order by channel
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_nps_by_channel_last_7_days'
);
select * from query(getvariable('cem_q'))
