-- The tables published in the BI file, with row counts and their dbt descriptions (pages use this to say
-- which marts are built yet).
select t.table_name, t.estimated_size as approx_rows, t.comment as description
from duckdb_tables() as t
where t.schema_name = 'marts'
order by t.table_name
