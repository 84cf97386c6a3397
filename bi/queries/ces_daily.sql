-- CES (mean of the 1-7 ease scale) per day, all channels, with a normal 95% interval from the pooled variance.
-- If marts.mart_ces_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select feedback_day, n, round(ces, 3) as ces,
           round(ces - 1.96 * sqrt(var / n), 3) as ces_ci_low, round(ces + 1.96 * sqrt(var / n), 3) as ces_ci_high
    from (
        select feedback_day, sum(n) as n, sum(score_sum) * 1.0 / sum(n) as ces,
               -- pooled sample variance from the per-cell n, mean and sd
               (sum((n - 1) * coalesce(ces_sd, 0) * coalesce(ces_sd, 0)) + sum(n * ces * ces) - sum(n) * power(sum(score_sum) * 1.0 / sum(n), 2))
                   / greatest(sum(n) - 1, 1) as var
        from marts.mart_ces_daily group by 1
    ) order by 1
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_ces_daily'
);
select * from query(getvariable('cem_q'))
