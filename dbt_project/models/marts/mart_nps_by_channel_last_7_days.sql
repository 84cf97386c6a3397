-- NPS per channel over the last 7 days of NPS data (period_end = the latest day with an NPS response),
-- with n, the 95% margin of error and interval and a small-n flag: the headline of the overview dashboard
-- and of the demo report (cem_pipeline/report.py).
with responses as (
    select feedback_day, channel, score
    from {{ ref('int_feedback__journey') }}
    where survey_type = 'nps' and score between 0 and 10
),

bounds as (
    select max(feedback_day) - 6 as period_start, max(feedback_day) as period_end from responses
),

counted as (
    select
        r.channel,
        min(r.feedback_day) as first_day,
        max(r.feedback_day) as last_day,
        count(*) as n,
        count(*) filter (where r.score >= 9) as promoters,
        count(*) filter (where r.score between 7 and 8) as passives,
        count(*) filter (where r.score <= 6) as detractors
    from responses as r
    cross join bounds as b
    where r.feedback_day between b.period_start and b.period_end
    group by r.channel
)

select
    c.channel,
    b.period_start,
    b.period_end,
    c.first_day,
    c.last_day,
    c.n,
    c.promoters,
    c.passives,
    c.detractors,
    {{ nps('c.promoters', 'c.detractors', 'c.n') }} as nps,
    {{ nps_margin_of_error('c.promoters', 'c.detractors', 'c.n') }} as nps_margin_of_error,
    {{ nps_ci_low('c.promoters', 'c.detractors', 'c.n') }} as nps_ci_low,
    {{ nps_ci_high('c.promoters', 'c.detractors', 'c.n') }} as nps_ci_high,
    c.n < {{ var('small_n_threshold') }} as small_n
from counted as c
cross join bounds as b
