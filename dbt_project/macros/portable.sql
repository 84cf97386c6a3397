{#
  The engine-specific SQL of the project, each function once per engine (DuckDB, Apache Spark): models call
  these macros and stay the same on both (tests/unit/test_dbt_layers.py keeps the DuckDB-only functions out
  of the models). Spark runs with spark.sql.session.timeZone = UTC and ANSI mode off (dbt-spark's default),
  so a timestamp without zone means the same wall time on both.
#}

{# An ISO-8601 text (with or without an offset) as a point in time; null when it does not parse. #}
{% macro parse_timestamp(text) -%}{{ adapter.dispatch('parse_timestamp', 'cem')(text) }}{%- endmacro %}
{% macro duckdb__parse_timestamp(text) -%}try_cast({{ text }} as timestamptz){%- endmacro %}
{% macro spark__parse_timestamp(text) -%}try_to_timestamp({{ text }}){%- endmacro %}

{# A point in time as the wall time in time zone `tz` (a timestamp without zone). #}
{% macro local_time(ts, tz) -%}{{ adapter.dispatch('local_time', 'cem')(ts, tz) }}{%- endmacro %}
{% macro duckdb__local_time(ts, tz) -%}timezone('{{ tz }}', {{ ts }}){%- endmacro %}
{% macro spark__local_time(ts, tz) -%}from_utc_timestamp({{ ts }}, '{{ tz }}'){%- endmacro %}

{# Now, as UTC wall time. #}
{% macro utc_now() -%}{{ adapter.dispatch('utc_now', 'cem')() }}{%- endmacro %}
{% macro duckdb__utc_now() -%}cast(timezone('UTC', current_timestamp) as timestamp){%- endmacro %}
{% macro spark__utc_now() -%}current_timestamp(){%- endmacro %}

{# A double rounded to `digits` decimals (half away from zero), the same on every engine: through a decimal of
   12 places. round() of a double differs at a tie such as -0.0033155 (the mean of four 6-decimal scores):
   DuckDB rounds the binary value just below it (-0.003315), Spark its shortest decimal spelling (-0.003316). #}
{% macro round_float(x, digits) -%}cast(round(cast({{ x }} as decimal(38, 12)), {{ digits }}) as double){%- endmacro %}

{# A timestamp plus a whole number of hours. #}
{% macro add_hours(ts, hours) -%}{{ adapter.dispatch('add_hours', 'cem')(ts, hours) }}{%- endmacro %}
{% macro duckdb__add_hours(ts, hours) -%}{{ ts }} + to_hours(cast({{ hours }} as bigint)){%- endmacro %}
{% macro spark__add_hours(ts, hours) -%}timestampadd(HOUR, {{ hours }}, {{ ts }}){%- endmacro %}

{# The text at a JSON path ('$.a.b') of a JSON text: strings unquoted, other values as JSON; null if absent. #}
{% macro json_text(col, path) -%}{{ adapter.dispatch('json_text', 'cem')(col, path) }}{%- endmacro %}
{% macro duckdb__json_text(col, path) -%}json_extract_string({{ col }}, '{{ path }}'){%- endmacro %}
{% macro spark__json_text(col, path) -%}get_json_object({{ col }}, '{{ path }}'){%- endmacro %}

{# Elements of the JSON array at `path`. #}
{% macro json_array_size(col, path) -%}{{ adapter.dispatch('json_array_size', 'cem')(col, path) }}{%- endmacro %}
{% macro duckdb__json_array_size(col, path) -%}json_array_length({{ col }}, '{{ path }}'){%- endmacro %}
{% macro spark__json_array_size(col, path) -%}json_array_length(get_json_object({{ col }}, '{{ path }}')){%- endmacro %}

{# In a select list: one row per element of the JSON array at `path`, each a JSON text (read it with
   json_text); no row for an empty or missing array. #}
{% macro json_array_rows(col, path) -%}{{ adapter.dispatch('json_array_rows', 'cem')(col, path) }}{%- endmacro %}
{% macro duckdb__json_array_rows(col, path) -%}unnest(json_extract({{ col }}, '{{ path }}[*]')){%- endmacro %}
{% macro spark__json_array_rows(col, path) -%}explode(from_json(get_json_object({{ col }}, '{{ path }}'), 'array<string>')){%- endmacro %}

{# The storage clause of a CREATE TABLE: Parquet in the lake on Spark, the warehouse's own on DuckDB. #}
{% macro table_format() -%}{{ adapter.dispatch('table_format', 'cem')() }}{%- endmacro %}
{% macro duckdb__table_format() -%}{%- endmacro %}
{% macro spark__table_format() -%}using parquet{%- endmacro %}

{# Every column of the select's input but `columns`: `select {{ star_except([...]) }} from ...`. #}
{% macro star_except(columns) -%}{{ adapter.dispatch('star_except', 'cem')(columns) }}{%- endmacro %}
{% macro duckdb__star_except(columns) -%}* exclude ({{ columns | join(', ') }}){%- endmacro %}
{% macro spark__star_except(columns) -%}* except ({{ columns | join(', ') }}){%- endmacro %}

{# An order-free fingerprint of a row (a 64-bit hash of `columns`; the hash function, and so the value,
   differs by engine: compare it only with values of the same engine). #}
{% macro row_hash(columns) -%}{{ adapter.dispatch('row_hash', 'cem')(columns) }}{%- endmacro %}
{% macro duckdb__row_hash(columns) -%}hash({{ columns | join(', ') }}){%- endmacro %}
{% macro spark__row_hash(columns) -%}xxhash64({{ columns | join(', ') }}){%- endmacro %}

{# Aggregate: the texts `expr` joined by `sep` in the order `order_by` (a SQL order-by list). #}
{% macro string_agg_ordered(expr, sep, order_by, distinct=false) -%}
    {{ adapter.dispatch('string_agg_ordered', 'cem')(expr, sep, order_by, distinct) }}
{%- endmacro %}
{% macro duckdb__string_agg_ordered(expr, sep, order_by, distinct) -%}
    string_agg({{ 'distinct ' if distinct }}{{ expr }}, {{ sep }} order by {{ order_by }})
{%- endmacro %}
{% macro spark__string_agg_ordered(expr, sep, order_by, distinct) -%}
    string_agg({{ 'distinct ' if distinct }}{{ expr }}, {{ sep }}) within group (order by {{ order_by }})
{%- endmacro %}

{# Aggregate: the values `expr` as a list ordered by `order_by` (a list of expressions, each ascending with
   nulls last), or with distinct=true the distinct non-null values in ascending order. #}
{% macro list_agg_ordered(expr, order_by=none, distinct=false) -%}
    {{ adapter.dispatch('list_agg_ordered', 'cem')(expr, order_by, distinct) }}
{%- endmacro %}
{% macro duckdb__list_agg_ordered(expr, order_by, distinct) -%}
    {%- if distinct -%}list(distinct {{ expr }} order by {{ expr }})
    {%- else -%}list({{ expr }} order by {{ order_by | join(', ') }}){%- endif -%}
{%- endmacro %}
{% macro spark__list_agg_ordered(expr, order_by, distinct) -%}
    {#- no ordered collect_list: sort structs of the keys (each after an is-null flag: nulls last, as on
        DuckDB) and the value, then keep the value -#}
    {%- if distinct -%}array_sort(collect_set({{ expr }}))
    {%- else -%}transform(array_sort(collect_list(named_struct(
        {%- for key in order_by %}'n{{ loop.index }}', {{ key }} is null, 'k{{ loop.index }}', {{ key }}, {% endfor -%}
        'v', {{ expr }}))), e -> e.v)
    {%- endif -%}
{%- endmacro %}

{# Regular expressions (RE2 on DuckDB, java.util.regex on Spark: keep patterns to their common part, e.g.
   spell word boundaries as [^A-Za-z0-9_] classes; \b differs for letters outside ASCII). #}
{% macro regex_search(text, pattern) -%}{{ adapter.dispatch('regex_search', 'cem')(text, pattern) }}{%- endmacro %}
{% macro duckdb__regex_search(text, pattern) -%}regexp_matches({{ text }}, {{ pattern }}){%- endmacro %}
{% macro spark__regex_search(text, pattern) -%}({{ text }} rlike {{ pattern }}){%- endmacro %}

{# A text with its regular-expression metacharacters escaped, to match it literally. #}
{% macro regex_escape(text) -%}{{ adapter.dispatch('regex_escape', 'cem')(text) }}{%- endmacro %}
{% macro duckdb__regex_escape(text) -%}regexp_replace({{ text }}, '([.\\^$|?*+()\[\]{}])', '\\\1', 'g'){%- endmacro %}
{#- raw literals: Spark's string literals would read the backslashes as escapes; $1 is Java's group reference -#}
{% macro spark__regex_escape(text) -%}regexp_replace({{ text }}, r'([.\\^$|?*+()\[\]{}])', r'\\$1'){%- endmacro %}
