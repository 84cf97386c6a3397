{{ config(**incremental_by_day()) }}
-- Every journey stage per local day (awareness -> ... -> loyalty, seeds journey_stages /
-- journey_touchpoints): feedback volume from all sources, negative share, NPS with its margin of
-- error, CSAT and CES. A stage with no feedback that day has no row.
with feedback as (
    select feedback_day, feedback_id, journey_stage, stage_order, source, survey_type, score, rating, is_negative
    from {{ ref('int_feedback__journey') }}
),

fingerprint as (
    {{ day_fingerprint('feedback', ['feedback_id', 'journey_stage', 'survey_type', 'score', 'rating', 'is_negative']) }}
),

counted as (
    select
        feedback_day,
        journey_stage,
        min(stage_order) as stage_order,
        count(*) as feedback_volume,
        count(*) filter (where source = 'surveys') as survey_responses,
        count(*) filter (where source = 'reviews') as reviews,
        count(*) filter (where source = 'social') as social_posts,
        count(*) filter (where source = 'calls') as calls,
        count(*) filter (where is_negative) as negative,
        count(is_negative) as judged,
        count(*) filter (where survey_type = 'nps' and score between 0 and 10) as nps_n,
        count(*) filter (where survey_type = 'nps' and score >= 9) as promoters,
        count(*) filter (where survey_type = 'nps' and score <= 6) as detractors,
        count(*) filter (where survey_type = 'csat' and score between 1 and 5) as csat_n,
        count(*) filter (where survey_type = 'csat' and score >= 4) as csat_satisfied,
        count(*) filter (where survey_type = 'ces' and score between 1 and 7) as ces_n,
        avg(score) filter (where survey_type = 'ces' and score between 1 and 7) as ces,
        avg(rating) filter (where rating between 1 and 5) as avg_rating
    from feedback
    {% if is_incremental() %}
    where feedback_day in ({{ changed_days('fingerprint') }})
    {% endif %}
    group by 1, 2
)

select
    c.feedback_day,
    c.journey_stage,
    c.stage_order,
    c.feedback_volume,
    c.survey_responses,
    c.reviews,
    c.social_posts,
    c.calls,
    c.negative,
    c.judged,
    {{ share('c.negative', 'c.judged') }} as share_negative,
    c.nps_n,
    c.promoters,
    c.detractors,
    case when c.nps_n > 0 then {{ nps('c.promoters', 'c.detractors', 'c.nps_n') }} end as nps,
    case when c.nps_n > 0 then {{ nps_margin_of_error('c.promoters', 'c.detractors', 'c.nps_n') }} end as nps_margin_of_error,
    c.csat_n,
    {{ share('c.csat_satisfied', 'c.csat_n') }} as csat,
    c.ces_n,
    {{ round_float('c.ces', 6) }} as ces,
    {{ round_float('c.avg_rating', 6) }} as avg_rating,
    c.nps_n < {{ var('small_n_threshold') }} as nps_small_n,
    f._day_records,
    f._day_hash
from counted as c
inner join fingerprint as f on f.feedback_day = c.feedback_day
