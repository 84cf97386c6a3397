-- Store ranking by NPS over the scorecard window, with margin of error, CSAT and CES.
-- If marts.mart_store_scorecard is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select nps_rank, nps_rank_reliable, store_id, store_name, city, region, store_format, n, nps,
           nps_margin_of_error, nps_ci_low, nps_ci_high, small_n, csat, ces, feedback_volume, reviews,
           avg_rating, period_start, period_end
    from marts.mart_store_scorecard order by nps_rank
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_store_scorecard'
);
select * from query(getvariable('cem_q'))
