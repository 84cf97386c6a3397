-- One row per piece of feedback, every channel: survey responses, reviews, social posts, calls.
with surveys as (
    select
        'surveys' as source,
        response_id as record_id,
        channel,
        store_id,
        touchpoint,
        responded_at as occurred_at,
        survey_type,
        score,
        cast(null as bigint) as rating,
        comment_text as feedback_text,
        lang
    from {{ ref('stg_surveys__responses') }}
),

reviews as (
    select
        'reviews', review_id, 'review', store_id, 'product_review', created_at,
        cast(null as varchar), cast(null as bigint), rating, review_text, lang
    from {{ ref('stg_reviews__reviews') }}
),

social as (
    select
        'social', post_id, 'social', cast(null as varchar), 'social_mention', posted_at,
        cast(null as varchar), cast(null as bigint), cast(null as bigint), post_text, lang
    from {{ ref('stg_social__posts') }}
),

calls as (
    select
        'calls', call_id, 'call_center', store_id, 'call_center', started_at,
        cast(null as varchar), cast(null as bigint), cast(null as bigint), cast(null as varchar), lang
    from {{ ref('stg_calls__calls') }}
),

unioned as (
    select * from surveys
    union all select * from reviews
    union all select * from social
    union all select * from calls
)

select
    source || ':' || record_id as feedback_id,
    *,
    cast(occurred_at as date) as feedback_day
from unioned
