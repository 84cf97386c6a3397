-- Pain points: touchpoint x topic for the latest period, ranked by NPS points at stake.
-- If marts.mart_pain_points is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select pain_rank, journey_stage, touchpoint, topic, volume, negative, share_negative, nps_n, nps, nps_others,
           nps_points_at_stake, small_n, prev_volume, volume_change, share_negative_change,
           nps_points_at_stake_change, period_start, period_end
    from marts.mart_pain_points order by pain_rank
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_pain_points'
);
select * from query(getvariable('cem_q'))
