{# Typed access to a field of the masked source record (the full record is kept as JSON). #}
{% macro json_str(field, col='_record') -%}
    {{ json_text(col, '$.' ~ field) }}
{%- endmacro %}

{% macro json_int(field, col='_record') -%}
    try_cast({{ json_text(col, '$.' ~ field) }} as bigint)
{%- endmacro %}

{% macro json_num(field, col='_record') -%}
    try_cast({{ json_text(col, '$.' ~ field) }} as decimal(18, 2))
{%- endmacro %}

{# A source timestamp (ISO-8601 with offset) as local wall time in var('timezone'). #}
{% macro json_local_ts(field, col='_record') -%}
    {{ local_time(parse_timestamp(json_text(col, '$.' ~ field)), var('timezone')) }}
{%- endmacro %}
