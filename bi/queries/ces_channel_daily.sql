-- CES per day x channel.
-- If marts.mart_ces_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select feedback_day, channel, sum(n) as n, round(sum(score_sum) * 1.0 / sum(n), 3) as ces
    from marts.mart_ces_daily group by 1, 2 order by 1, 2
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_ces_daily'
);
select * from query(getvariable('cem_q'))
