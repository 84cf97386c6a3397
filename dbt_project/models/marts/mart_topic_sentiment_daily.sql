-- Topic sentiment by day x channel x topic: how often each topic is mentioned and how people feel about
-- it (aspect sentiment: the sentiment of the sentences that mention it). Day and channel come from the
-- feedback the mention belongs to (int_feedback__unioned).
with mentions as (
    select
        m.topic,
        m.topic_zh,
        f.feedback_day,
        coalesce(f.channel, 'unknown') as channel,
        m.feedback_id,
        m.sentiment_label,
        m.sentiment_score
    from {{ ref('int_topic_mentions') }} as m
    inner join {{ ref('int_feedback__unioned') }} as f
        on f.feedback_id = m.feedback_id
)

select
    topic,
    min(topic_zh) as topic_zh,
    feedback_day,
    channel,
    count(*) as mentions,
    count(distinct feedback_id) as feedback_items,
    count(*) filter (where sentiment_label = 'negative') as negative_mentions,
    count(*) filter (where sentiment_label = 'positive') as positive_mentions,
    {{ share("count(*) filter (where sentiment_label = 'negative')", 'count(*)') }} as share_negative,
    {{ share("count(*) filter (where sentiment_label = 'positive')", 'count(*)') }} as share_positive,
    {{ round_float('avg(sentiment_score)', 6) }} as mean_sentiment
from mentions
group by topic, feedback_day, channel
