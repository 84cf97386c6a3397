{# Experience -> outcomes (mart_experience_outcomes): the interval of a difference of two independent means,
   e.g. promoters' minus detractors' spend per customer: z * sqrt(sd1^2 / n1 + sd2^2 / n2); null when either
   group has fewer than 2 customers (no sd). z = 1 gives its standard error. #}
{% macro mean_difference_margin_of_error(sd1, n1, sd2, n2, z=1.96) -%}
    {{ round_float('cast(' ~ z ~ ' as double) * sqrt(' ~ sd1 ~ ' * ' ~ sd1 ~ ' / ' ~ n1 ~ ' + ' ~ sd2 ~ ' * '
                   ~ sd2 ~ ' / ' ~ n2 ~ ')', 6) }}
{%- endmacro %}

{# The tenure band of a customer first registered on `first_day` at `day`: new (< 90 days), established
   (< 365), loyal, unknown without a CRM registration (simulator/outcomes.py plants with the same bands). #}
{% macro tenure_band(first_day, day) -%}
    case
        when {{ first_day }} is null then 'unknown'
        when {{ first_day }} > {{ day }} - 90 then 'new'
        when {{ first_day }} > {{ day }} - 365 then 'established'
        else 'loyal'
    end
{%- endmacro %}
