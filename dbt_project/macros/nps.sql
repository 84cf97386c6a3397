{# NPS and its 95% margin of error (DESIGN.md §4), from promoter / detractor counts and n. #}
{% macro nps(promoters, detractors, n) -%}
    round(100.0 * ({{ promoters }} - {{ detractors }}) / nullif({{ n }}, 0), 4)
{%- endmacro %}

{% macro nps_margin_of_error(promoters, detractors, n) -%}
    round(1.96 * 100.0 * sqrt(
        (
            ({{ promoters }} * 1.0 / {{ n }}) * (1 - {{ promoters }} * 1.0 / {{ n }})
            + ({{ detractors }} * 1.0 / {{ n }}) * (1 - {{ detractors }} * 1.0 / {{ n }})
            + 2 * ({{ promoters }} * 1.0 / {{ n }}) * ({{ detractors }} * 1.0 / {{ n }})
        ) / {{ n }}
    ), 4)
{%- endmacro %}
