-- The tables published in the BI file (the `marts` schema and, beside it, `analytics`), with row counts and
-- their dbt descriptions (pages use this to say which tables are built yet).
select t.table_name, t.schema_name, t.estimated_size as approx_rows, t.comment as description
from duckdb_tables() as t
where t.schema_name in ('marts', 'analytics')
order by t.schema_name desc, t.table_name
