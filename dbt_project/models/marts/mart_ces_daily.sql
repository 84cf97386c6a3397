{{ config(**incremental_by_day()) }}
-- CES (mean of the 1-7 "easy to..." agreement scale) per local day x channel x store x touchpoint x
-- journey stage, with n, the sample standard deviation, a normal 95% interval (macro mean_margin_of_error;
-- null for n = 1) and a small-n flag.
with {{ survey_responses_with_fingerprint('ces', 1, 7) }},

counted as (
    select
        feedback_day,
        channel,
        store_id,
        touchpoint,
        journey_stage,
        count(*) as n,
        sum(score) as score_sum,
        avg(score) as ces,
        stddev_samp(score) as ces_sd,
        count(*) filter (where score <= 3) as difficult
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
    c.score_sum,
    c.difficult,
    {{ round_float('c.ces', 6) }} as ces,
    {{ round_float('c.ces_sd', 6) }} as ces_sd,
    {{ mean_margin_of_error('c.ces_sd', 'c.n') }} as ces_margin_of_error,
    {{ mean_ci_low('c.ces', 'c.ces_sd', 'c.n') }} as ces_ci_low,
    {{ mean_ci_high('c.ces', 'c.ces_sd', 'c.n') }} as ces_ci_high,
    c.n < {{ var('small_n_threshold') }} as small_n,
    f._day_records,
    f._day_hash
from counted as c
inner join fingerprint as f on f.feedback_day = c.feedback_day
