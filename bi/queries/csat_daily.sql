-- CSAT per day, all channels, with the 95% interval.
-- If marts.mart_csat_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select feedback_day, n, csat, csat - moe as csat_ci_low, csat + moe as csat_ci_high, moe as csat_margin_of_error
    from (select feedback_day, sum(n) as n, round(sum(satisfied) * 1.0 / sum(n), 4) as csat,
                 round(1.96 * sqrt((sum(satisfied) * 1.0 / sum(n)) * (1 - sum(satisfied) * 1.0 / sum(n)) / sum(n)), 4) as moe
          from marts.mart_csat_daily group by 1) order by 1
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_csat_daily'
);
select * from query(getvariable('cem_q'))
