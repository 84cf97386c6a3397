{# Experience-metric helpers for the metric marts (DESIGN.md §4). #}

{# CSAT: share of 4-5 answers; 95% Wilson score interval (z = 1.96) for a share p = k / n. #}
{% macro wilson_low(k, n, z=1.96) -%}
    round((({{ k }} * 1.0 / {{ n }}) + {{ z }} * {{ z }} / (2.0 * {{ n }})
        - {{ z }} * sqrt(({{ k }} * 1.0 / {{ n }}) * (1 - {{ k }} * 1.0 / {{ n }}) / {{ n }} + {{ z }} * {{ z }} / (4.0 * {{ n }} * {{ n }})))
        / (1 + {{ z }} * {{ z }} / {{ n }}), 6)
{%- endmacro %}

{% macro wilson_high(k, n, z=1.96) -%}
    round((({{ k }} * 1.0 / {{ n }}) + {{ z }} * {{ z }} / (2.0 * {{ n }})
        + {{ z }} * sqrt(({{ k }} * 1.0 / {{ n }}) * (1 - {{ k }} * 1.0 / {{ n }}) / {{ n }} + {{ z }} * {{ z }} / (4.0 * {{ n }} * {{ n }})))
        / (1 + {{ z }} * {{ z }} / {{ n }}), 6)
{%- endmacro %}

{# Normal-approximation 95% margin of error of a share p = k / n. #}
{% macro share_margin_of_error(k, n, z=1.96) -%}
    round({{ z }} * sqrt(({{ k }} * 1.0 / {{ n }}) * (1 - {{ k }} * 1.0 / {{ n }}) / {{ n }}), 6)
{%- endmacro %}

{# NPS 95% confidence interval, clipped to [-100, 100]. #}
{% macro nps_ci_low(promoters, detractors, n) -%}
    round(greatest(-100.0, {{ nps(promoters, detractors, n) }} - {{ nps_margin_of_error(promoters, detractors, n) }}), 4)
{%- endmacro %}
{% macro nps_ci_high(promoters, detractors, n) -%}
    round(least(100.0, {{ nps(promoters, detractors, n) }} + {{ nps_margin_of_error(promoters, detractors, n) }}), 4)
{%- endmacro %}

{#
  Incremental by day. An incremental run rebuilds only the days whose input changed, found by a
  per-day fingerprint (row count + order-free hash of the rows that feed the mart) stored on every
  row of the mart as _day_records / _day_hash, plus the last var('marts_lookback_days', 2) days as a
  safety net. Late answers, corrections (v2 scores) and new records all change their day's
  fingerprint, so the increment equals a full rebuild. The daily job runs dbt with --full-refresh.
#}
{% macro day_fingerprint(input_cte, hash_columns) -%}
    select feedback_day, count(*) as _day_records, sum(hash({{ hash_columns | join(', ') }})) as _day_hash
    from {{ input_cte }}
    group by feedback_day
{%- endmacro %}

{% macro changed_days(fingerprint_cte) -%}
    {%- set existing = [] %}
    {%- for c in adapter.get_columns_in_relation(this) %}{% do existing.append(c.name | lower) %}{% endfor %}
    {%- if '_day_hash' not in existing %}
    {#- built before fingerprints existed: rebuild every day once #}
    select feedback_day from {{ fingerprint_cte }}
    {%- else %}
    select f.feedback_day
    from {{ fingerprint_cte }} as f
    left join (select distinct feedback_day, _day_records, _day_hash from {{ this }}) as t
        on t.feedback_day = f.feedback_day
    where t.feedback_day is null
        or t._day_records <> f._day_records
        or t._day_hash <> f._day_hash
        or f.feedback_day >= (select max(feedback_day) from {{ this }}) - {{ var('marts_lookback_days', 2) }}
        {%- if var('backfill_start', none) %}
        {#- a backfill (the backfill_cx_marts job) rebuilds its day range whatever the fingerprints say #}
        or f.feedback_day between cast('{{ var("backfill_start") }}' as date) and cast('{{ var("backfill_end") }}' as date)
        {%- endif %}
    {%- endif %}
{%- endmacro %}


{# The survey responses of one metric, on their valid scale, and their per-day fingerprint: the two CTEs
   every daily survey mart (NPS, CSAT, CES) starts from. #}
{% macro survey_responses_with_fingerprint(survey_type, min_score, max_score) -%}
responses as (
    select feedback_day, feedback_id, channel, store_id, touchpoint, journey_stage, score
    from {{ ref('int_feedback__journey') }}
    where survey_type = '{{ survey_type }}' and score between {{ min_score }} and {{ max_score }}
),

fingerprint as (
    {{ day_fingerprint('responses', ['feedback_id', 'score', 'channel', 'store_id', 'touchpoint', 'journey_stage']) }}
)
{%- endmacro %}
