-- NPS per day x channel (rolled up over stores, touchpoints and stages).
-- If marts.mart_nps_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select feedback_day, channel, sum(n) as n,
           round(100.0 * (sum(promoters) - sum(detractors)) / sum(n), 2) as nps
    from marts.mart_nps_daily group by 1, 2 order by 1, 2
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_nps_daily'
);
select * from query(getvariable('cem_q'))
