-- NPS per journey stage over the last 28 days of data (stage order from the journey seed when published).
-- If marts.mart_nps_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    with last as (select max(feedback_day) as d from marts.mart_nps_daily),
    agg as (
        select journey_stage, sum(n) as n, sum(promoters) as promoters, sum(detractors) as detractors,
               sum(promoters) * 1.0 / sum(n) as pp, sum(detractors) * 1.0 / sum(n) as pd
        from marts.mart_nps_daily, last
        where feedback_day > last.d - 28
        group by journey_stage
    )
    select coalesce(journey_stage, '(unmapped)') as journey_stage, n,
           round(100.0 * (promoters - detractors) / n, 1) as nps,
           round(1.96 * 100 * sqrt((pp * (1 - pp) + pd * (1 - pd) + 2 * pp * pd) / n), 1) as nps_margin_of_error,
           n < 30 as small_n
    from agg order by nps
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_nps_daily'
);
select * from query(getvariable('cem_q'))
