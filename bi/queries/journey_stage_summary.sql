-- Per journey stage over the last 28 days of data: volume, share negative, NPS with its margin, CSAT, CES.
-- If marts.mart_journey_stage_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    with last as (select max(feedback_day) as d from marts.mart_journey_stage_daily),
    agg as (
        select journey_stage, min(stage_order) as stage_order, sum(feedback_volume) as feedback_volume,
               sum(negative) as negative, sum(judged) as judged, sum(nps_n) as nps_n,
               sum(promoters) as promoters, sum(detractors) as detractors,
               sum(csat * csat_n) as csat_sat, sum(csat_n) as csat_n, sum(ces * ces_n) as ces_sum, sum(ces_n) as ces_n
        from marts.mart_journey_stage_daily, last where feedback_day > last.d - 28 group by journey_stage
    )
    select stage_order, journey_stage, feedback_volume,
           round(negative * 1.0 / nullif(judged, 0), 4) as share_negative, nps_n,
           round(100.0 * (promoters - detractors) / nullif(nps_n, 0), 1) as nps,
           round(1.96 * 100 * sqrt(((promoters * 1.0 / nullif(nps_n, 0)) * (1 - promoters * 1.0 / nullif(nps_n, 0))
                 + (detractors * 1.0 / nullif(nps_n, 0)) * (1 - detractors * 1.0 / nullif(nps_n, 0))
                 + 2 * (promoters * 1.0 / nullif(nps_n, 0)) * (detractors * 1.0 / nullif(nps_n, 0))) / nullif(nps_n, 0)), 1) as nps_margin_of_error,
           round(csat_sat / nullif(csat_n, 0), 4) as csat, round(ces_sum / nullif(ces_n, 0), 3) as ces
    from agg order by stage_order
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_journey_stage_daily'
);
select * from query(getvariable('cem_q'))
