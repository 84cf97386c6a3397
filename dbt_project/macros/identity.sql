{#
  Connected components for identity resolution (int_identity__resolution), in portable SQL.

  connected_components(edges_sql) labels every node of the undirected graph whose edges `edges_sql` selects
  (columns src, dst; strings) with the smallest node of its component, and returns the scratch relation
  (node, label) that holds the answer; nodes without edges are not in it. Min-label propagation with pointer
  jumping: each round a node takes the smallest label among itself and its neighbours, then the label of
  that label. Labels only fall and stay inside the component, and a round that changes nothing is the true
  fixed point (every edge joins equal labels, and each label labels itself), so rounds run until no label
  changes: about log2 of the longest path, 3-6 rounds on the simulator's graphs.

  SQL has no loop, so the rounds run at execution time through run_query into scratch tables beside the
  model (`<model>__cc_*`); the model's final select reads the returned relation, and its post-hook
  (drop_connected_components) removes them. At parse time nothing runs.
#}
{% macro connected_components(edges_sql) %}
    {%- set max_rounds = var('identity_max_rounds', 30) | int -%}
    {%- set edges = cc_relation('edges') -%}
    {%- set labels = cc_relation('labels') -%}
    {%- set next = cc_relation('next') -%}
    {%- if not execute -%}
        {{ return(labels) }}
    {%- endif -%}
    {%- do drop_connected_components() -%}
    {#- Both directions and a self loop per node, so that a node's closed neighbourhood is one join. -#}
    {%- do run_query(cc_create(edges,
        "with e as (" ~ edges_sql ~ ")
        select distinct src, dst from (
            select src, dst from e union all select dst, src from e
            union all select src, src from e union all select dst, dst from e
        ) as both_ways")) -%}
    {%- do run_query(cc_create(labels,
        "select src as node, min(dst) as label from " ~ edges ~ " group by src")) -%}
    {%- set state = namespace(rounds=0, done=false) -%}
    {%- for round in range(max_rounds) -%}{%- if not state.done -%}
        {%- do run_query(cc_create(next,
            "with step as (
                select e.src as node, min(l.label) as label
                from " ~ edges ~ " as e inner join " ~ labels ~ " as l on l.node = e.dst
                group by e.src
            )
            select s.node, j.label from step as s inner join step as j on j.node = s.label")) -%}
        {%- set changed = run_query(
            "select count(*) from " ~ next ~ " as n inner join " ~ labels ~ " as l on l.node = n.node
            where n.label <> l.label").columns[0].values()[0] -%}
        {%- do adapter.drop_relation(labels) -%}
        {%- do adapter.rename_relation(next, labels) -%}
        {%- set state.rounds = round + 1 -%}
        {%- set state.done = (changed | int) == 0 -%}
    {%- endif -%}{%- endfor -%}
    {%- if not state.done -%}
        {%- do exceptions.raise_compiler_error(
            "identity resolution: connected components still changing after " ~ max_rounds ~ " rounds; "
            ~ "raise var identity_max_rounds (e.g. dbt build --vars '{identity_max_rounds: "
            ~ (max_rounds * 2) ~ "}')") -%}
    {%- endif -%}
    {%- do log("identity resolution: connected components converged in " ~ state.rounds ~ " rounds", info=true) -%}
    {{ return(labels) }}
{% endmacro %}

{# The post-hook of the model calling connected_components: drops its scratch tables. #}
{% macro drop_connected_components() %}
    {%- if execute -%}
        {%- for part in ('edges', 'labels', 'next') -%}
            {%- do adapter.drop_relation(cc_relation(part)) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}

{% macro cc_relation(part) %}
    {{ return(this.incorporate(path={'identifier': this.identifier ~ '__cc_' ~ part}, type='table')) }}
{% endmacro %}

{# A plain CREATE TABLE AS: a Parquet table on Spark (its default source), a table on DuckDB. #}
{% macro cc_create(relation, sql) %}
    {{ return('create table ' ~ relation ~ ' as ' ~ sql) }}
{% endmacro %}
