-- Topic x sentiment (mart_topic_sentiment_daily, from the sentiment worker).
-- If marts.mart_topic_sentiment_daily is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select * from marts.mart_topic_sentiment_daily
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_topic_sentiment_daily'
);
select * from query(getvariable('cem_q'))
