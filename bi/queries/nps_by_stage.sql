-- NPS per journey stage over the last 28 days of data, lowest first.
-- If marts.mart_journey_stage_last_28_days is not in the BI file yet this returns no rows, and the page says "not built yet".
-- Every figure is computed in dbt (models/marts/mart_journey_stage_last_28_days.sql); this query only selects.
set variable cem_q = (
    select case when count(*) > 0 then $$    select journey_stage, nps_n as n, nps, nps_margin_of_error, nps_ci_low, nps_ci_high, nps_small_n as small_n
    from marts.mart_journey_stage_last_28_days where nps_n > 0 order by nps, journey_stage
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_journey_stage_last_28_days'
);
select * from query(getvariable('cem_q'))
