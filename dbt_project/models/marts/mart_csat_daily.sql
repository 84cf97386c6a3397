{{ config(**incremental_by_day()) }}
-- CSAT (share of 4-5 answers on the 1-5 scale) per local day x channel x store x touchpoint x journey
-- stage, with n, the 95% Wilson interval, the normal margin of error and a small-n flag.
with {{ survey_responses_with_fingerprint('csat', 1, 5) }},

counted as (
    select
        feedback_day,
        channel,
        store_id,
        touchpoint,
        journey_stage,
        count(*) as n,
        count(*) filter (where score >= 4) as satisfied,
        count(*) filter (where score <= 2) as dissatisfied
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
    c.satisfied,
    c.dissatisfied,
    {{ share('c.satisfied', 'c.n') }} as csat,
    {{ share_margin_of_error('c.satisfied', 'c.n') }} as csat_margin_of_error,
    {{ wilson_low('c.satisfied', 'c.n') }} as csat_ci_low,
    {{ wilson_high('c.satisfied', 'c.n') }} as csat_ci_high,
    c.n < {{ var('small_n_threshold') }} as small_n,
    f._day_records,
    f._day_hash
from counted as c
inner join fingerprint as f on f.feedback_day = c.feedback_day
