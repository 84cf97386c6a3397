-- Topic (aspect) mentions: one row per sentence x topic. A sentence mentions a topic when it contains one
-- of the topic's keywords (seed topic_taxonomy, case-insensitive; Chinese keywords as substrings, English
-- keywords as whole words with an optional plural s/es). Each mention carries the sentiment of the
-- sentence that mentions it (stg_ml__sentence_scores: the ML assets split every text into sentences and score
-- each one), not of the whole text.
with sentences as (
    select * from {{ ref('stg_ml__sentence_scores') }}
    where sentence_text is not null
),

taxonomy as (
    select distinct
        topic,
        topic_zh,
        language,
        lower(trim(keyword)) as keyword,
        -- regexp for the keyword, its regex metacharacters escaped; English word boundaries spelled as ASCII
        -- non-word characters (what \b means in DuckDB's RE2, not in Spark's Java regex)
        case when language = 'zh'
            then {{ regex_escape('lower(trim(keyword))') }}
            else '(^|[^A-Za-z0-9_])' || {{ regex_escape('lower(trim(keyword))') }} || '(s|es)?([^A-Za-z0-9_]|$)'
        end as pattern
    from {{ ref('topic_taxonomy') }}
    where keyword is not null and trim(keyword) <> ''
),

matched as (
    select
        s.source,
        s.record_id,
        s.turn,
        s.sentence_no,
        t.topic,
        min(t.topic_zh) as topic_zh,
        {{ string_agg_ordered('t.keyword', "'|'", 't.keyword', distinct=true) }} as matched_keywords
    from sentences as s
    inner join taxonomy as t
        on {{ regex_search('lower(s.sentence_text)', 't.pattern') }}
    group by 1, 2, 3, 4, 5
)

select
    m.source || ':' || m.record_id || ':' || coalesce(cast(m.turn as string), '-') || ':'
        || cast(m.sentence_no as string) || ':' || m.topic as mention_id,
    m.source || ':' || m.record_id as feedback_id,
    m.source,
    m.record_id,
    m.turn,
    s.speaker,
    m.sentence_no,
    m.topic,
    m.topic_zh,
    m.matched_keywords,
    s.sentence_text,
    s.language,
    s.sentiment_label,
    s.sentiment_score,
    s.p_neg,
    s.p_neu,
    s.p_pos,
    s.model_id
from matched as m
inner join sentences as s
    on s.source = m.source
    and s.record_id = m.record_id
    and s.turn is not distinct from m.turn
    and s.sentence_no = m.sentence_no
