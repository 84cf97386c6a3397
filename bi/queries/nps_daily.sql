-- NPS per day, all channels, with the 95% margin of error and interval (DESIGN.md section 4).
-- If marts.mart_nps_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select feedback_day, n, promoters, detractors, nps,
           round(1.96 * 100 * sqrt((pp * (1 - pp) + pd * (1 - pd) + 2 * pp * pd) / n), 2) as nps_margin_of_error,
           nps - round(1.96 * 100 * sqrt((pp * (1 - pp) + pd * (1 - pd) + 2 * pp * pd) / n), 2) as nps_ci_low,
           nps + round(1.96 * 100 * sqrt((pp * (1 - pp) + pd * (1 - pd) + 2 * pp * pd) / n), 2) as nps_ci_high,
           n < 30 as small_n
    from (
        select feedback_day, sum(n) as n, sum(promoters) as promoters, sum(detractors) as detractors,
               round(100.0 * (sum(promoters) - sum(detractors)) / sum(n), 2) as nps,
               sum(promoters) * 1.0 / sum(n) as pp, sum(detractors) * 1.0 / sum(n) as pd
        from marts.mart_nps_daily group by feedback_day
    ) order by feedback_day
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_nps_daily'
);
select * from query(getvariable('cem_q'))
