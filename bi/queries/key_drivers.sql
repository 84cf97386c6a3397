-- Key drivers of likelihood-to-recommend per segment (overall, channel, journey stage) on the latest as-of day:
-- relative-weight importance, regression effect in points of the 0-10 answer, their bootstrap 95% intervals,
-- share affected, the mean answer of those affected and of the rest, and the fix-first rank (computed in
-- cem_pipeline/analytics/drivers.py). Sorted as the page lists them: fix first, then by importance.
-- If analytics.mart_key_drivers is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select as_of_day, segment_kind, segment_value, driver, topic, polarity, responses, mentions,
           share_affected, importance, importance_ci_low, importance_ci_high, importance_share, effect_points,
           effect_ci_low, effect_ci_high, direction, model_r2, bootstrap_resamples, mean_score_affected,
           mean_score_unaffected, fix_first_score, fix_first_rank
    from analytics.mart_key_drivers
    where as_of_day = (select max(as_of_day) from analytics.mart_key_drivers)
    order by case segment_kind when 'overall' then 0 when 'channel' then 1 when 'journey_stage' then 2 else 3 end,
             segment_value, fix_first_rank nulls last, importance desc, driver
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'analytics' and table_name = 'mart_key_drivers'
);
select * from query(getvariable('cem_q'))
