{# A member tier as a rank (platinum 4 ... bronze 1, else 0) and back: a customer with several member
   accounts shows the highest tier (dim_customer_360, int_survey_drivers). #}
{% macro tier_rank(tier) -%}
    case {{ tier }} when 'platinum' then 4 when 'gold' then 3 when 'silver' then 2 when 'bronze' then 1 else 0 end
{%- endmacro %}

{% macro tier_name(rank) -%}
    case {{ rank }} when 4 then 'platinum' when 3 then 'gold' when 2 then 'silver' when 1 then 'bronze' end
{%- endmacro %}
