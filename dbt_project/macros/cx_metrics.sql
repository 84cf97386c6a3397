{# Experience-metric helpers for the metric marts (DESIGN.md §4). #}

{# Every share and mean below is double arithmetic (cast(k as double) / n, z^2 cast once): a decimal literal
   such as 1.0 would make Spark divide in decimals, rounded at another digit than DuckDB's doubles. #}

{# CSAT: share of 4-5 answers; 95% Wilson score interval (z = 1.96) for a share p = k / n. #}
{% macro wilson_low(k, n, z=1.96) -%}
    {%- set p = '(cast(' ~ k ~ ' as double) / ' ~ n ~ ')' -%}
    {%- set zz = 'cast(' ~ z ~ ' * ' ~ z ~ ' as double)' -%}
    {%- set bound -%}
        ({{ p }} + {{ zz }} / (2 * {{ n }})
            - cast({{ z }} as double) * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ zz }} / (4 * {{ n }} * {{ n }})))
        / (1 + {{ zz }} / {{ n }})
    {%- endset %}
    {{ round_float(bound, 6) }}
{%- endmacro %}

{% macro wilson_high(k, n, z=1.96) -%}
    {%- set p = '(cast(' ~ k ~ ' as double) / ' ~ n ~ ')' -%}
    {%- set zz = 'cast(' ~ z ~ ' * ' ~ z ~ ' as double)' -%}
    {%- set bound -%}
        ({{ p }} + {{ zz }} / (2 * {{ n }})
            + cast({{ z }} as double) * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ zz }} / (4 * {{ n }} * {{ n }})))
        / (1 + {{ zz }} / {{ n }})
    {%- endset %}
    {{ round_float(bound, 6) }}
{%- endmacro %}

{# Normal-approximation 95% margin of error of a share p = k / n. #}
{% macro share_margin_of_error(k, n, z=1.96) -%}
    {%- set p = '(cast(' ~ k ~ ' as double) / ' ~ n ~ ')' -%}
    {{ round_float('cast(' ~ z ~ ' as double) * sqrt(' ~ p ~ ' * (1 - ' ~ p ~ ') / ' ~ n ~ ')', 6) }}
{%- endmacro %}

{# A share k / n (CSAT = satisfied / n, share negative = negative / judged); null when n = 0. #}
{% macro share(k, n) -%}
    {{ round_float('cast(' ~ k ~ ' as double) / nullif(' ~ n ~ ', 0)', 6) }}
{%- endmacro %}

{# CES: normal-approximation 95% margin of error and interval of a mean (null for n = 1: no sd). #}
{% macro mean_margin_of_error(sd, n, z=1.96) -%}
    {{ round_float('cast(' ~ z ~ ' as double) * ' ~ sd ~ ' / sqrt(' ~ n ~ ')', 6) }}
{%- endmacro %}
{% macro mean_ci_low(mean, sd, n, z=1.96) -%}
    {{ round_float(mean ~ ' - cast(' ~ z ~ ' as double) * ' ~ sd ~ ' / sqrt(' ~ n ~ ')', 6) }}
{%- endmacro %}
{% macro mean_ci_high(mean, sd, n, z=1.96) -%}
    {{ round_float(mean ~ ' + cast(' ~ z ~ ' as double) * ' ~ sd ~ ' / sqrt(' ~ n ~ ')', 6) }}
{%- endmacro %}

{# NPS 95% confidence interval, clipped to [-100, 100]. #}
{% macro nps_ci_low(promoters, detractors, n) -%}
    {{ round_float('greatest(-100.0, ' ~ nps(promoters, detractors, n) ~ ' - ' ~ nps_margin_of_error(promoters, detractors, n) ~ ')', 4) }}
{%- endmacro %}
{% macro nps_ci_high(promoters, detractors, n) -%}
    {{ round_float('least(100.0, ' ~ nps(promoters, detractors, n) ~ ' + ' ~ nps_margin_of_error(promoters, detractors, n) ~ ')', 4) }}
{%- endmacro %}

{#
  Incremental by day. An incremental run rebuilds only the days whose input changed, found by a
  per-day fingerprint (row count + order-free hash of the rows that feed the mart) stored on every
  row of the mart as _day_records / _day_hash, plus the last var('marts_lookback_days', 2) days as a
  safety net. Late answers, corrections (v2 scores) and new records all change their day's
  fingerprint, so the increment equals a full rebuild. The daily job runs dbt with --full-refresh.
#}
{# The config of a mart incremental by day: the changed days' rows replace those days' rows. DuckDB deletes
   and inserts by feedback_day. On Spark (Parquet tables) append would ignore the key and merge needs Delta or
   Iceberg: the mart is partitioned by feedback_day and the changed days' partitions are overwritten (so
   feedback_day is the table's last column there). #}
{% macro incremental_by_day() -%}{{ return(adapter.dispatch('incremental_by_day', 'cem')()) }}{%- endmacro %}
{% macro duckdb__incremental_by_day() -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert', 'unique_key': 'feedback_day',
               'on_schema_change': 'sync_all_columns'}) }}
{%- endmacro %}
{% macro spark__incremental_by_day() -%}
    {#- Parquet tables can add columns, not drop them: a removed column needs --full-refresh -#}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'insert_overwrite', 'partition_by': ['feedback_day'],
               'file_format': 'parquet', 'on_schema_change': 'append_new_columns'}) }}
{%- endmacro %}

{% macro day_fingerprint(input_cte, hash_columns) -%}
    select feedback_day, count(*) as _day_records, sum({{ row_hash(hash_columns) }}) as _day_hash
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


{# NPS, CSAT and CES with n, their 95% intervals and small-n flags, per group of `group_by` over the
   survey responses in `relation` (a ref or a CTE with survey_type and score): the roll-ups the dashboards
   and the demo report show (mart_cx_trend_*, mart_journey_stage_last_28_days). A select statement; one
   row per group with at least one valid response. Every formula is one of the macros above. #}
{% macro survey_metrics(relation, group_by) -%}
{%- set keys = group_by | join(', ') %}
select
    {{ keys }},
    nps_n,
    promoters,
    passives,
    detractors,
    case when nps_n > 0 then {{ nps('promoters', 'detractors', 'nps_n') }} end as nps,
    case when nps_n > 0 then {{ nps_margin_of_error('promoters', 'detractors', 'nps_n') }} end as nps_margin_of_error,
    case when nps_n > 0 then {{ nps_ci_low('promoters', 'detractors', 'nps_n') }} end as nps_ci_low,
    case when nps_n > 0 then {{ nps_ci_high('promoters', 'detractors', 'nps_n') }} end as nps_ci_high,
    nps_n < {{ var('small_n_threshold') }} as nps_small_n,
    csat_n,
    satisfied,
    case when csat_n > 0 then {{ share('satisfied', 'csat_n') }} end as csat,
    case when csat_n > 0 then {{ share_margin_of_error('satisfied', 'csat_n') }} end as csat_margin_of_error,
    case when csat_n > 0 then {{ wilson_low('satisfied', 'csat_n') }} end as csat_ci_low,
    case when csat_n > 0 then {{ wilson_high('satisfied', 'csat_n') }} end as csat_ci_high,
    csat_n < {{ var('small_n_threshold') }} as csat_small_n,
    ces_n,
    {{ round_float('ces', 6) }} as ces,
    {{ round_float('ces_sd', 6) }} as ces_sd,
    {{ mean_margin_of_error('ces_sd', 'ces_n') }} as ces_margin_of_error,
    {{ mean_ci_low('ces', 'ces_sd', 'ces_n') }} as ces_ci_low,
    {{ mean_ci_high('ces', 'ces_sd', 'ces_n') }} as ces_ci_high,
    ces_n < {{ var('small_n_threshold') }} as ces_small_n
from (
    select
        {{ keys }},
        count(*) filter (where survey_type = 'nps') as nps_n,
        count(*) filter (where survey_type = 'nps' and score >= 9) as promoters,
        count(*) filter (where survey_type = 'nps' and score between 7 and 8) as passives,
        count(*) filter (where survey_type = 'nps' and score <= 6) as detractors,
        count(*) filter (where survey_type = 'csat') as csat_n,
        count(*) filter (where survey_type = 'csat' and score >= 4) as satisfied,
        count(*) filter (where survey_type = 'ces') as ces_n,
        avg(score) filter (where survey_type = 'ces') as ces,
        stddev_samp(score) filter (where survey_type = 'ces') as ces_sd
    from {{ relation }}
    where (survey_type = 'nps' and score between 0 and 10)
        or (survey_type = 'csat' and score between 1 and 5)
        or (survey_type = 'ces' and score between 1 and 7)
    group by {{ keys }}
) as counted
{%- endmacro %}
