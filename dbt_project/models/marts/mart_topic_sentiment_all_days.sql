-- Topic sentiment over every published day and channel (the "topics x sentiment" table of the pain-points
-- dashboard): mentions, feedback items, negative / neutral / positive mentions, their shares and the mean
-- sentence sentiment. The same mentions as mart_topic_sentiment_daily, rolled up per topic.
with mentions as (
    select m.topic, m.topic_zh, m.feedback_id, m.sentiment_label, m.sentiment_score
    from {{ ref('int_topic_mentions') }} as m
    inner join {{ ref('int_feedback__unioned') }} as f
        on f.feedback_id = m.feedback_id
),

counted as (
    select
        topic,
        min(topic_zh) as topic_zh,
        count(*) as mentions,
        count(distinct feedback_id) as feedback_items,
        count(*) filter (where sentiment_label = 'negative') as negative_mentions,
        count(*) filter (where sentiment_label = 'positive') as positive_mentions,
        avg(sentiment_score) as mean_sentiment
    from mentions
    group by topic
)

select
    topic,
    topic_zh,
    mentions,
    feedback_items,
    negative_mentions,
    mentions - negative_mentions - positive_mentions as neutral_mentions,
    positive_mentions,
    {{ share('negative_mentions', 'mentions') }} as share_negative,
    {{ share('positive_mentions', 'mentions') }} as share_positive,
    {{ round_float('mean_sentiment', 6) }} as mean_sentiment
from counted
