{# NPS and its 95% margin of error (DESIGN.md §4), from promoter / detractor counts and n; in doubles on every
   engine (see macros/cx_metrics.sql). #}
{% macro nps(promoters, detractors, n) -%}
    {{ round_float('100 * cast(' ~ promoters ~ ' - ' ~ detractors ~ ' as double) / nullif(' ~ n ~ ', 0)', 4) }}
{%- endmacro %}

{# z = 1 gives the standard error (the metric-drop tests' input, int_metric_windows). #}
{% macro nps_margin_of_error(promoters, detractors, n, z=1.96) -%}
    {%- set pp = '(cast(' ~ promoters ~ ' as double) / ' ~ n ~ ')' -%}
    {%- set pd = '(cast(' ~ detractors ~ ' as double) / ' ~ n ~ ')' -%}
    {%- set moe -%}
        {{ z }} * 100.0 * sqrt(({{ pp }} * (1 - {{ pp }}) + {{ pd }} * (1 - {{ pd }}) + 2 * {{ pp }} * {{ pd }}) / {{ n }})
    {%- endset %}
    {{ round_float(moe, 4) }}
{%- endmacro %}
