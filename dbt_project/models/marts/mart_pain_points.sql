-- Pain points (DESIGN.md §4): per touchpoint and topic, over the last var('pain_point_days', 7) days up
-- to the latest feedback day and the same-length period before it: volume, share negative, NPS of
-- those who mention it and the NPS points at stake = NPS(others) adjusted: how much the overall NPS
-- would rise if the group scored like everyone else = n_g / N * (NPS_others - NPS_g).
-- topic = '(any)' rows: every feedback at the touchpoint (always present). Topic rows come from
-- the sentiment worker's intermediate.int_topic_mentions (source, record_id, topic) when that table
-- exists; a review / post / call mention is placed on the topic's default touchpoint (seed
-- topic_touchpoints), a survey mention on the survey's touchpoint.
-- depends_on: {{ ref('topic_touchpoints') }}
-- depends_on: {{ ref('int_topic_mentions') }}
{#- (the hints: the refs below sit in a conditional block, and int_topic_mentions must be built first) #}
{%- set mentions = none %}
{%- if execute %}
    {%- set mentions = adapter.get_relation(database=target.database, schema='intermediate', identifier='int_topic_mentions') %}
{%- endif %}
with bounds as (
    select max(feedback_day) as period_end,
           max(feedback_day) - {{ var('pain_point_days', 7) - 1 }} as period_start,
           max(feedback_day) - {{ 2 * var('pain_point_days', 7) - 1 }} as prev_start
    from {{ ref('int_feedback__journey') }}
),

feedback as (
    select
        f.feedback_id, f.source, f.record_id, f.touchpoint, f.survey_type, f.score, f.is_negative,
        case when f.feedback_day >= b.period_start then 'current' else 'previous' end as period
    from {{ ref('int_feedback__journey') }} as f
    cross join bounds as b
    where f.feedback_day >= b.prev_start
),

grouped as (
    select feedback_id, period, touchpoint, '(any)' as topic, survey_type, score, is_negative from feedback
    {% if mentions is not none %}
    union all
    select distinct
        f.feedback_id, f.period,
        case when f.source = 'surveys' then f.touchpoint else coalesce(tt.touchpoint, f.touchpoint) end,
        m.topic, f.survey_type, f.score, f.is_negative
    from feedback as f
    inner join {{ mentions }} as m on m.source = f.source and m.record_id = f.record_id
    left join {{ ref('topic_touchpoints') }} as tt on tt.topic = m.topic
    {% endif %}
),

totals as (
    select
        period,
        count(*) filter (where survey_type = 'nps' and score between 0 and 10) as all_n,
        count(*) filter (where survey_type = 'nps' and score >= 9) as all_promoters,
        count(*) filter (where survey_type = 'nps' and score <= 6) as all_detractors
    from feedback
    group by period
),

per_group as (
    select
        touchpoint,
        topic,
        period,
        count(*) as volume,
        count(*) filter (where is_negative) as negative,
        count(is_negative) as judged,
        count(*) filter (where survey_type = 'nps' and score between 0 and 10) as nps_n,
        count(*) filter (where survey_type = 'nps' and score >= 9) as promoters,
        count(*) filter (where survey_type = 'nps' and score <= 6) as detractors
    from grouped
    group by 1, 2, 3
),

scored as (
    select
        g.*,
        {{ share('g.negative', 'g.judged') }} as share_negative,
        case when g.nps_n > 0 then {{ nps('g.promoters', 'g.detractors', 'g.nps_n') }} end as nps,
        case when t.all_n - g.nps_n > 0 then
            {{ nps('(t.all_promoters - g.promoters)', '(t.all_detractors - g.detractors)', '(t.all_n - g.nps_n)') }} end as nps_others,
        case when t.all_n > 0 then {{ nps('t.all_promoters', 't.all_detractors', 't.all_n') }} end as nps_overall,
        t.all_n
    from per_group as g
    inner join totals as t on t.period = g.period
),

at_stake as (
    select
        *,
        -- the overall NPS if this group scored like everyone else, minus the overall NPS
        case when nps_n > 0 and all_n - nps_n > 0 then
            {{ round_float('cast(nps_n as double) / all_n * (nps_others - nps)', 4) }} end as nps_points_at_stake
    from scored
),

cur as (select * from at_stake where period = 'current'),
prev as (select * from at_stake where period = 'previous')

select
    coalesce(c.touchpoint, p.touchpoint) as touchpoint,
    coalesce(c.topic, p.topic) as topic,
    j.journey_stage,
    b.period_start,
    b.period_end,
    coalesce(c.volume, 0) as volume,
    coalesce(c.negative, 0) as negative,
    c.share_negative,
    coalesce(c.nps_n, 0) as nps_n,
    c.nps,
    c.nps_others,
    c.nps_overall,
    c.nps_points_at_stake,
    coalesce(c.nps_n, 0) < {{ var('small_n_threshold') }} as small_n,
    coalesce(p.volume, 0) as prev_volume,
    p.share_negative as prev_share_negative,
    p.nps as prev_nps,
    p.nps_points_at_stake as prev_nps_points_at_stake,
    coalesce(c.volume, 0) - coalesce(p.volume, 0) as volume_change,
    {{ round_float('c.share_negative - p.share_negative', 6) }} as share_negative_change,
    {{ round_float('c.nps_points_at_stake - p.nps_points_at_stake', 4) }} as nps_points_at_stake_change,
    rank() over (order by c.nps_points_at_stake desc nulls last, c.volume desc nulls last,
                 coalesce(c.touchpoint, p.touchpoint), coalesce(c.topic, p.topic)) as pain_rank
from cur as c
full outer join prev as p on p.touchpoint = c.touchpoint and p.topic = c.topic
cross join bounds as b
left join {{ ref('journey_touchpoints') }} as j on j.touchpoint = coalesce(c.touchpoint, p.touchpoint)
