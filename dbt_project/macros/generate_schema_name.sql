{# Use the custom schema name as is (staging, intermediate, marts), not <target>_<custom>:
   the schema names are part of the contract BI tools and the privacy tests read. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
