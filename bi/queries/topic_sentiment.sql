-- Topic x sentiment over all published days (mart_topic_sentiment_daily), most negative first.
-- If marts.mart_topic_sentiment_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select topic, min(topic_zh) as topic_zh, sum(mentions) as mentions, sum(feedback_items) as feedback_items,
           sum(negative_mentions) as negative, sum(positive_mentions) as positive,
           sum(mentions) - sum(negative_mentions) - sum(positive_mentions) as neutral,
           round(sum(negative_mentions) * 1.0 / sum(mentions), 4) as share_negative,
           round(sum(positive_mentions) * 1.0 / sum(mentions), 4) as share_positive,
           round(sum(mean_sentiment * mentions) / sum(mentions), 4) as mean_sentiment
    from marts.mart_topic_sentiment_daily group by topic order by share_negative desc
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_topic_sentiment_daily'
);
select * from query(getvariable('cem_q'))
