-- CSAT (share of 4-5 answers) per day x channel with the 95% margin of error.
-- If marts.mart_csat_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select feedback_day, channel, sum(n) as n, round(sum(satisfied) * 1.0 / sum(n), 4) as csat,
           round(1.96 * sqrt((sum(satisfied) * 1.0 / sum(n)) * (1 - sum(satisfied) * 1.0 / sum(n)) / sum(n)), 4) as csat_margin_of_error
    from marts.mart_csat_daily group by 1, 2 order by 1, 2
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_csat_daily'
);
select * from query(getvariable('cem_q'))
