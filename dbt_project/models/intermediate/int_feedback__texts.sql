-- Every text the sentiment model scores, at its latest version: one row per review, social post and survey
-- comment, and one per call-transcript turn. The ML assets read this table (cem_pipeline/nlp/store.py), so the
-- latest-version rule and the turn unnesting live once, in staging. A new free-text source adds its branch
-- here (tests/unit/test_registries.py checks that every free-text entity of the catalogue has one).
-- A table on both engines: on Spark the ML step reads its Parquet files from the lake (a view has none), and
-- the same tables on both keep the two engines' reports alike.

select 'reviews' as source, review_id as record_id, cast(null as integer) as turn,
       cast(null as string) as speaker, review_text as text
from {{ ref('stg_reviews__reviews') }}

union all

select 'social', post_id, null, null, post_text
from {{ ref('stg_social__posts') }}

union all

select 'surveys', response_id, null, null, comment_text
from {{ ref('stg_surveys__responses') }}

union all

select 'calls', call_id, turn_no, speaker, turn_text
from {{ ref('stg_calls__turns') }}
