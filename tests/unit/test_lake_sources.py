"""On Spark, dbt declares the gates' Parquet tables itself (dbt_project/macros/lake.sql): its column lists
must be the columns of the same tables on DuckDB (cem_pipeline/schema.py), or staging reads other columns
on one engine than on the other."""

from __future__ import annotations

import re

from cem_pipeline import schema
from tests.support import REPO

MACRO = REPO / "dbt_project" / "macros" / "lake.sql"
DDL = {"masked": schema.MASKED_COLUMNS, "quarantined_records": schema.QUARANTINE_COLUMNS,
       "quality_warnings": schema.WARNINGS_COLUMNS, "schema_drift": schema.DRIFT_COLUMNS,
       "gate_ledger": schema.GATE_LEDGER_COLUMNS}


def _names(ddl: str) -> list[str]:
    return [line.strip().split()[0] for line in ddl.strip().splitlines() if line.strip()]


def _macro_columns() -> dict[str, list[str]]:
    text = MACRO.read_text()
    body = text[text.index("lake_source_columns"):text.index("endmacro")]
    out = {}
    for name, cols in re.findall(r"'(\w+)': ((?:'[^']*'\s*(?:~\s*)?)+)", body):
        joined = "".join(re.findall(r"'([^']*)'", cols))
        out[name] = [c.strip().split()[0] for c in joined.split(",") if c.strip()]
    return out


def test_spark_source_tables_have_the_duckdb_columns():
    declared = _macro_columns()
    assert set(declared) == set(DDL)
    for table, ddl in DDL.items():
        assert sorted(declared[table]) == sorted(_names(ddl)), table


def test_partition_columns_are_columns_and_come_last():
    text = MACRO.read_text()
    partitions = dict(re.findall(r"'(\w+)': '(\w+(?:, \w+)*)'", text[text.index("lake_partitions"):]))
    declared = _macro_columns()
    for table, cols in partitions.items():
        names = [c.strip() for c in cols.split(",")]
        assert declared[table][-len(names):] == names, table


def test_dbt_sessions_on_spark_use_the_lake_session_settings():
    """dbt-spark starts its own SparkSession from the profile: it must run with the settings the Python
    steps' session has (time zone above all: timestamps are UTC wall time on both sides; and no console
    progress bar, which would break the JSON lines on dbt's stdout that dagster-dbt turns into events)."""
    import yaml

    from cem_pipeline.lake import SPARK_CONF

    profile = yaml.safe_load((REPO / "dbt_project" / "profiles.yml").read_text())
    params = {k: str(v).lower() for k, v in profile["cem"]["outputs"]["spark"]["server_side_parameters"].items()}
    for key in ("spark.ui.enabled", "spark.ui.showConsoleProgress", "spark.sql.shuffle.partitions", "spark.sql.session.timeZone", "spark.driver.memory"):
        assert params[key] == SPARK_CONF[key].lower(), key
