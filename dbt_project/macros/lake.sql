{#
  On Spark the gates write the masked and quarantine tables as Parquet into dbt's warehouse folder
  (cem_pipeline/lake.py), one partition per load. Before any model reads them, declare each source table
  with its columns (a table no load has reached yet is then empty, not missing) and pick up the partitions
  written since the last run. Raw stays outside the metastore: nothing dbt runs can name it.
  The columns are those of cem_pipeline/lake.py (tests/unit/test_lake_sources.py compares them); partition
  columns come last. On DuckDB the gates' tables are ordinary tables and this does nothing.
#}
{% macro lake_source_columns() -%}
    {%- do return({
        'masked': 'record_id string, source_updated_at string, _record string, _record_hash string, '
                  ~ '_ingested_at timestamp, _gated_at timestamp, _load_id string',
        'quarantined_records': 'record_id string, _record_hash string, rule string, field string, '
                  ~ 'value_masked string, quarantined_at timestamp, entity string, _load_id string',
        'quality_warnings': 'record_id string, _record_hash string, rule string, field string, '
                  ~ 'value_masked string, observed_at timestamp, entity string, _load_id string',
        'schema_drift': 'field string, rows bigint, observed_at timestamp, entity string, load_id string',
        'gate_ledger': 'entity string, load_id string, rows_in bigint, passed bigint, quarantined bigint, '
                  ~ 'unknown_fields string, gated_at timestamp',
    }) -%}
{%- endmacro %}

{% macro lake_partitions() -%}
    {%- do return({'masked': '_load_id', 'quarantined_records': 'entity, _load_id',
                   'quality_warnings': 'entity, _load_id', 'schema_drift': 'entity, load_id'}) -%}
{%- endmacro %}

{% macro create_lake_sources() -%}
    {%- if execute and target.type == 'spark' %}
        {%- set columns, partitions = lake_source_columns(), lake_partitions() %}
        {%- for source in graph.sources.values() if source.source_name in ('masked', 'quarantine') %}
            {%- set kind = 'masked' if source.source_name == 'masked' else source.name %}
            {%- set relation = source.schema ~ '.' ~ source.name %}
            {%- do run_query('create database if not exists ' ~ source.schema) %}
            {#- External (the gates may have written the folder first), where lake.py's table_path puts it. #}
            {%- set location = env_var('CEM_LAKE_DIR', '../data/lake') ~ '/warehouse/' ~ source.schema ~ '.db/' ~ source.name %}
            {%- do run_query('create table if not exists ' ~ relation ~ ' (' ~ columns[kind] ~ ') using parquet'
                             ~ (' partitioned by (' ~ partitions[kind] ~ ')' if kind in partitions else '')
                             ~ " location '" ~ location ~ "'") %}
            {%- if kind in partitions %}{% do run_query('msck repair table ' ~ relation) %}{% endif %}
            {%- do run_query('refresh table ' ~ relation) %}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
