{# Rows whose estimate lies outside its own interval [low, high] (a lost or swapped bound). #}
{% test within_interval(model, column_name, low, high) %}
select *
from {{ model }}
where {{ column_name }} < {{ low }} or {{ column_name }} > {{ high }}
{% endtest %}
