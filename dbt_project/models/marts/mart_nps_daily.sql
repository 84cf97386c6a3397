{{ config(**incremental_by_day()) }}
-- NPS per local day x channel x store x touchpoint x journey stage (DESIGN.md §4), with n, the 95%
-- margin of error and interval, and a small-n flag. Incremental by day (macros/cx_metrics.sql).
with {{ survey_responses_with_fingerprint('nps', 0, 10) }},

counted as (
    select
        feedback_day,
        channel,
        store_id,
        touchpoint,
        journey_stage,
        count(*) as n,
        count(*) filter (where score >= 9) as promoters,
        count(*) filter (where score between 7 and 8) as passives,
        count(*) filter (where score <= 6) as detractors
    from responses
    {% if is_incremental() %}
    where feedback_day in ({{ changed_days('fingerprint') }})
    {% endif %}
    group by 1, 2, 3, 4, 5
)

select
    c.feedback_day,
    c.channel,
    c.store_id,
    c.touchpoint,
    c.journey_stage,
    c.n,
    c.promoters,
    c.passives,
    c.detractors,
    {{ nps('c.promoters', 'c.detractors', 'c.n') }} as nps,
    {{ nps_margin_of_error('c.promoters', 'c.detractors', 'c.n') }} as nps_margin_of_error,
    {{ nps_ci_low('c.promoters', 'c.detractors', 'c.n') }} as nps_ci_low,
    {{ nps_ci_high('c.promoters', 'c.detractors', 'c.n') }} as nps_ci_high,
    c.n < {{ var('small_n_threshold') }} as small_n,
    f._day_records,
    f._day_hash
from counted as c
inner join fingerprint as f on f.feedback_day = c.feedback_day
