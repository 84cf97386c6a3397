-- Store ranking by NPS over the last var('scorecard_days', 28) days up to the latest feedback day
-- ("assess each mall's operation"): n, NPS with its 95% margin of error and interval, CSAT, CES,
-- feedback volume, and a rank among stores (rank_reliable only counts stores with n >= small_n_threshold).
with window_bounds as (
    select max(feedback_day) as period_end,
           max(feedback_day) - {{ var('scorecard_days', 28) - 1 }} as period_start
    from {{ ref('int_feedback__journey') }}
),

feedback as (
    select f.*
    from {{ ref('int_feedback__journey') }} as f
    cross join window_bounds as w
    where f.store_id <> '(none)' and f.feedback_day between w.period_start and w.period_end
),

per_store as (
    select
        store_id,
        count(*) as feedback_volume,
        count(*) filter (where survey_type = 'nps' and score between 0 and 10) as n,
        count(*) filter (where survey_type = 'nps' and score >= 9) as promoters,
        count(*) filter (where survey_type = 'nps' and score <= 6) as detractors,
        count(*) filter (where survey_type = 'csat' and score between 1 and 5) as csat_n,
        count(*) filter (where survey_type = 'csat' and score >= 4) as csat_satisfied,
        count(*) filter (where survey_type = 'ces' and score between 1 and 7) as ces_n,
        avg(score) filter (where survey_type = 'ces' and score between 1 and 7) as ces,
        count(*) filter (where source = 'reviews') as reviews,
        avg(rating) filter (where rating between 1 and 5) as avg_rating
    from feedback
    group by store_id
),

scored as (
    select
        p.*,
        case when n > 0 then {{ nps('promoters', 'detractors', 'n') }} end as nps,
        case when n > 0 then {{ nps_margin_of_error('promoters', 'detractors', 'n') }} end as nps_margin_of_error,
        case when n > 0 then {{ nps_ci_low('promoters', 'detractors', 'n') }} end as nps_ci_low,
        case when n > 0 then {{ nps_ci_high('promoters', 'detractors', 'n') }} end as nps_ci_high,
        n < {{ var('small_n_threshold') }} as small_n
    from per_store as p
)

select
    s.store_id,
    st.store_name,
    st.city,
    st.region,
    st.store_format,
    w.period_start,
    w.period_end,
    s.feedback_volume,
    s.n,
    s.promoters,
    s.detractors,
    s.nps,
    s.nps_margin_of_error,
    s.nps_ci_low,
    s.nps_ci_high,
    s.small_n,
    s.csat_n,
    {{ share('s.csat_satisfied', 's.csat_n') }} as csat,
    s.ces_n,
    {{ round_float('s.ces', 6) }} as ces,
    s.reviews,
    {{ round_float('s.avg_rating', 6) }} as avg_rating,
    rank() over (order by s.nps desc nulls last, s.n desc, s.store_id) as nps_rank,
    case when not s.small_n then
        rank() over (partition by s.small_n order by s.nps desc nulls last, s.n desc, s.store_id) end as nps_rank_reliable
from scored as s
cross join window_bounds as w
left join {{ ref('stg_crm__stores') }} as st on st.store_id = s.store_id
