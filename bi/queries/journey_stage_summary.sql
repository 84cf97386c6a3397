-- Per journey stage over the last 28 days of data: volume, share negative, NPS with its margin, CSAT, CES.
-- If marts.mart_journey_stage_last_28_days is not in the BI file yet this returns no rows, and the page says "not built yet".
-- Every figure is computed in dbt (models/marts/mart_journey_stage_last_28_days.sql); this query only selects.
set variable cem_q = (
    select case when count(*) > 0 then $$    select stage_order, journey_stage, feedback_volume, share_negative, nps_n, nps, nps_margin_of_error, csat_n, csat,
           ces_n, ces
    from marts.mart_journey_stage_last_28_days order by stage_order, journey_stage
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_journey_stage_last_28_days'
);
select * from query(getvariable('cem_q'))
