-- Every journey stage over the last 28 days of feedback data (period_end = the latest feedback day): volume
-- from all sources, share negative, and NPS, CSAT and CES with n, their 95% intervals and small-n flags
-- (macro survey_metrics): the journey-stage table and the NPS-by-stage chart of the overview dashboard.
with bounds as (
    select max(feedback_day) - 27 as period_start, max(feedback_day) as period_end
    from {{ ref('int_feedback__journey') }}
),

feedback as (
    select f.*
    from {{ ref('int_feedback__journey') }} as f
    cross join bounds as b
    where f.feedback_day between b.period_start and b.period_end
),

volume as (
    select
        journey_stage,
        min(stage_order) as stage_order,
        count(*) as feedback_volume,
        count(*) filter (where is_negative) as negative,
        count(is_negative) as judged
    from feedback
    group by journey_stage
),

metrics as (
    {{ survey_metrics('feedback', ['journey_stage']) }}
)

select
    v.journey_stage,
    v.stage_order,
    b.period_start,
    b.period_end,
    v.feedback_volume,
    v.negative,
    v.judged,
    {{ share('v.negative', 'v.judged') }} as share_negative,
    coalesce(m.nps_n, 0) as nps_n,
    coalesce(m.promoters, 0) as promoters,
    coalesce(m.detractors, 0) as detractors,
    m.nps,
    m.nps_margin_of_error,
    m.nps_ci_low,
    m.nps_ci_high,
    coalesce(m.nps_n, 0) < {{ var('small_n_threshold') }} as nps_small_n,
    coalesce(m.csat_n, 0) as csat_n,
    m.csat,
    m.csat_ci_low,
    m.csat_ci_high,
    coalesce(m.ces_n, 0) as ces_n,
    m.ces,
    m.ces_ci_low,
    m.ces_ci_high
from volume as v
cross join bounds as b
left join metrics as m on m.journey_stage = v.journey_stage
