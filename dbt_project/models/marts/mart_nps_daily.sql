-- NPS per local day x channel x store (DESIGN.md §4), with n, the 95% margin of error and a small-n flag.
with responses as (
    select
        feedback_day,
        channel,
        coalesce(store_id, '(none)') as store_id,
        score
    from {{ ref('fct_feedback') }}
    where survey_type = 'nps' and score between 0 and 10
),

counted as (
    select
        feedback_day,
        channel,
        store_id,
        count(*) as n,
        count(*) filter (where score >= 9) as promoters,
        count(*) filter (where score between 7 and 8) as passives,
        count(*) filter (where score <= 6) as detractors
    from responses
    group by 1, 2, 3
)

select
    feedback_day,
    channel,
    store_id,
    n,
    promoters,
    passives,
    detractors,
    {{ nps('promoters', 'detractors', 'n') }} as nps,
    {{ nps_margin_of_error('promoters', 'detractors', 'n') }} as nps_margin_of_error,
    n < {{ var('small_n_threshold') }} as small_n
from counted
