{#
  Connected components for identity resolution (int_identity__resolution), in portable SQL.

  connected_components(edges_sql) labels every node of the undirected graph whose edges `edges_sql` selects
  (columns src, dst; strings) with the smallest node of its component, and returns the scratch relation
  (node, label) that holds the answer; nodes without edges are not in it. The rounds follow FastSV (Zhang,
  Azad, Hu 2020): with f a node's label and m(u) the smallest f(f(v)) over u and its neighbours v, each round
  sets f(u) to the smallest of m(u) and m(c) over the nodes c labelled u (a label takes the best its
  members see, so whole trees move at once; plain min-label propagation needs about as many rounds as the
  longest path, this about log2 of it: 21 rounds for a scrambled path of a million nodes, 2 on the
  simulator's graphs). Labels only fall and stay inside the component, and a round that changes nothing is
  the true fixed point (every label labels itself, every edge joins equal labels: each node has its
  component's smallest node), so rounds run until no label changes.

  SQL has no loop, so the rounds run at execution time through run_query, each into a scratch table beside
  the model; the model's final select reads the returned relation. At parse time nothing runs.
#}
{% macro connected_components(edges_sql) %}
    {%- set max_rounds = var('identity_max_rounds', 30) | int -%}
    {#- The edges once (Spark would evaluate a CTE once per reference); the first labels (each node's
        smallest neighbour or itself); then the edges both ways plus a self loop per node, so that a
        node's closed neighbourhood is one join (a duplicate edge changes no minimum). -#}
    {%- set raw = scratch_table('cc_raw', "select src, dst from (" ~ edges_sql ~ ") as e
        where src is not null and dst is not null") -%}
    {%- set labels = scratch_table('cc_labels',
        "select node, least(node, min(other)) as label from (
            select src as node, dst as other from " ~ raw ~ " union all select dst, src from " ~ raw ~ "
        ) as both_ways group by node") -%}
    {%- set edges = scratch_table('cc_edges',
        "select src, dst from " ~ raw ~ " union all select dst, src from " ~ raw ~ "
        union all select node, node from " ~ labels) -%}
    {%- if not execute -%}
        {{ return(labels) }}
    {%- endif -%}
    {%- set state = namespace(rounds=0, done=false) -%}
    {%- for round in range(max_rounds) -%}{%- if not state.done -%}
        {%- set next = scratch_table('cc_next',
            "with grand as (
                select l.node, p.label as grand from " ~ labels ~ " as l
                inner join " ~ labels ~ " as p on p.node = l.label
            ),
            seen as (
                select e.src as node, min(g.grand) as seen
                from " ~ edges ~ " as e inner join grand as g on g.node = e.dst
                group by e.src
            ),
            hooked as (
                select l.label as node, min(s.seen) as hooked
                from " ~ labels ~ " as l inner join seen as s on s.node = l.node
                group by l.label
            )
            select s.node, least(s.seen, coalesce(h.hooked, s.seen)) as label
            from seen as s left join hooked as h on h.node = s.node") -%}
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

{#
  scratch_table(name, sql): the table `<model>__<name>` built from `sql` now, at execution time (at parse
  time only its name), for a model to read more than once. The model's post-hook
  drop_scratch_tables(names) removes them.
#}
{% macro scratch_table(name, sql) %}
    {%- set relation = scratch_relation(name) -%}
    {%- if execute -%}
        {%- do adapter.drop_relation(relation) -%}
        {%- do run_query(scratch_create(relation, sql)) -%}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}

{% macro scratch_relation(name) %}
    {{- return(adapter.dispatch('scratch_relation', 'cem')(name)) -}}
{% endmacro %}

{% macro scratch_create(relation, sql) %}
    {{- return(adapter.dispatch('scratch_create', 'cem')(relation, sql)) -}}
{% endmacro %}

{# DuckDB: a temporary table (in memory, for this connection only), 3-4x cheaper to write than one in the
   warehouse file. #}
{% macro duckdb__scratch_relation(name) %}
    {{- return(api.Relation.create(database='temp', schema='main', identifier=this.identifier ~ '__' ~ name,
                                   type='table')) -}}
{% endmacro %}

{% macro duckdb__scratch_create(relation, sql) %}
    {{- return('create temp table ' ~ relation ~ ' as ' ~ sql) -}}
{% endmacro %}

{# Elsewhere (Spark): a table beside the model, in the engine's table format (macros/portable.sql); a
   temporary view would be evaluated again at every read. #}
{% macro default__scratch_relation(name) %}
    {{- return(this.incorporate(path={'identifier': this.identifier ~ '__' ~ name}, type='table')) -}}
{% endmacro %}

{% macro default__scratch_create(relation, sql) %}
    {{- return('create table ' ~ relation ~ ' ' ~ table_format() ~ ' as ' ~ sql) -}}
{% endmacro %}

{#- `names` and connected_components' own scratch tables -#}
{% macro drop_scratch_tables(names) %}
    {%- if execute -%}
        {%- for name in names + ['cc_raw', 'cc_edges', 'cc_labels', 'cc_next'] -%}
            {%- do adapter.drop_relation(scratch_relation(name)) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
