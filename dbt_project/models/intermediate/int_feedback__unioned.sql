-- One row per piece of feedback, every channel: survey responses, reviews, social posts, calls, with the
-- customer behind it and its sentiment. The marts read it (fct_feedback publishes it as it is; the journey
-- view, the alerts and the 360 build on it), so the flow runs staging -> intermediate -> marts.
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
        cast(null as string), cast(null as bigint), rating, review_text, lang
    from {{ ref('stg_reviews__reviews') }}
),

social as (
    select
        'social', post_id, 'social', cast(null as string), 'social_mention', posted_at,
        cast(null as string), cast(null as bigint), cast(null as bigint), post_text, lang
    from {{ ref('stg_social__posts') }}
),

calls as (
    select
        'calls', call_id, 'call_center', store_id, 'call_center', started_at,
        cast(null as string), cast(null as bigint), cast(null as bigint), cast(null as string), lang
    from {{ ref('stg_calls__calls') }}
),

unioned as (
    select * from surveys
    union all select * from reviews
    union all select * from social
    union all select * from calls
)

select
    unioned.source || ':' || unioned.record_id as feedback_id,
    unioned.*,
    cast(unioned.occurred_at as date) as feedback_day,
    -- identity: the customer behind the feedback (int_identity__record_keys); null = anonymous
    identity.customer_key,
    identity.customer_key is null as is_anonymous,
    -- sentiment (ML assets, via stg_ml__*): the text's own score; for a call, the customer-weighted score of its turns
    coalesce(call_sentiment.sentiment_label, text_sentiment.sentiment_label) as sentiment_label,
    coalesce(call_sentiment.sentiment_score, text_sentiment.sentiment_score) as sentiment_score,
    call_sentiment.improved as call_sentiment_improved,
    coalesce(call_sentiment.model_id, text_sentiment.model_id) as sentiment_model_id
from unioned
left join {{ ref('int_identity__record_keys') }} as identity
    on identity.entity = case unioned.source when 'social' then 'social_posts' else unioned.source end
    and identity.record_id = unioned.record_id
left join {{ ref('stg_ml__sentiment_scores') }} as text_sentiment
    on unioned.source <> 'calls'
    and text_sentiment.source = unioned.source
    and text_sentiment.record_id = unioned.record_id
    and text_sentiment.turn is null
left join {{ ref('stg_ml__call_sentiment') }} as call_sentiment
    on unioned.source = 'calls'
    and call_sentiment.call_id = unioned.record_id
