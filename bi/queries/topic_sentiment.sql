-- Topic x sentiment over all published days, most negative first.
-- If marts.mart_topic_sentiment_all_days is not in the BI file yet this returns no rows, and the page says "not built yet".
-- Every figure is computed in dbt (models/marts/mart_topic_sentiment_all_days.sql); this query only selects.
set variable cem_q = (
    select case when count(*) > 0 then $$    select topic, topic_zh, mentions, feedback_items, negative_mentions as negative,
           neutral_mentions as neutral, positive_mentions as positive, share_negative, share_positive, mean_sentiment
    from marts.mart_topic_sentiment_all_days order by share_negative desc, topic
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_topic_sentiment_all_days'
);
select * from query(getvariable('cem_q'))
