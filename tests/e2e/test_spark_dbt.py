"""The dbt project on Apache Spark gives DuckDB's tables, cell by cell.

The session's shared DuckDB run (daily job, then the hourly job 30 h on) wrote every dbt source (masked.*,
ml.*, quarantine.*). Each phase's source rows are written into the source tables of the test run's one
SparkSession (fixture ``spark``: a Hive catalog on local[2]), then ``dbt build --target spark`` runs in this
process (dbt-spark's session method gets that same session), and every seed, staging, intermediate and mart
table must equal the DuckDB run's (tests/support/tables.py: same rows, same columns, floats to 1e-9).

Seeds load first (`dbt seed` runs the on-run-start hooks, which declare the source tables). The daily phase
is then a `dbt build` of every model, the project's own generic tests and every unit test (their SQL must be
portable too); dbt's built-in generic tests (not_null, unique, accepted_values, relationships: dbt-spark
ships them) are left out, as the hourly phase leaves out all tests: on cells equal to DuckDB's they would only
repeat what DuckDB's run checked, at about a second each on local Spark. The hourly phase is an incremental
`dbt run` over the daily phase's Spark tables, so insert_overwrite by day is compared with DuckDB's
delete+insert.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import yaml

from assets.dbt import DBT_PROJECT_DIR
from tests.support.e2e import environment
from tests.support.tables import VOLATILE, difference, frame

pytestmark = pytest.mark.e2e

SCHEMAS = ("seeds", "staging", "intermediate", "marts")
BUILTIN_TESTS = ["test_name:not_null", "test_name:unique", "test_name:accepted_values", "test_name:relationships"]
DAILY = ["build", "--exclude", "resource_type:seed", *BUILTIN_TESTS]
HOURLY = ["run", "--exclude", "resource_type:seed"]
# _day_hash fingerprints a day's rows with the engine's own 64-bit hash (macros/portable.sql row_hash):
# equal within an engine, different across engines by design.
ENGINE_SPECIFIC = {"_day_hash"}


def _sources() -> list[tuple[str, str]]:
    """(schema, table) of every dbt source the project declares."""
    found = set()
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        for source in (yaml.safe_load(path.read_text()) or {}).get("sources", []):
            schema = source.get("schema", source["name"])
            found |= {(schema, t.get("identifier", t["name"])) for t in source.get("tables", [])}
    return sorted(found)


def _fill(spark, warehouse: Path, tables: list[tuple[str, str]]) -> None:
    """Replace the rows of Spark's ``tables`` with the DuckDB file's. A table the project's on-run-start hooks
    declared keeps its columns and partitions (matched by name; one DuckDB lacks is null); any other is
    created as a Parquet table of the DuckDB columns."""
    from pyspark.sql import functions as F

    with duckdb.connect(str(warehouse), read_only=True) as con:
        for schema, table in tables:
            rows = con.sql(f"select * from {schema}.{table}").to_arrow_table()
            rows = rows.cast(pa.schema([f.with_type(_storage(f.type)) for f in rows.schema]))
            df = spark.createDataFrame(rows)
            name = f"{schema}.{table}"
            if spark.catalog.tableExists(name):
                columns = [F.col(c) if c in df.columns else F.lit(None).cast(t).alias(c)
                           for c, t in spark.table(name).dtypes]
                # static: every partition of the table is replaced, not only those these rows fall in
                (df.select(*columns).write.option("partitionOverwriteMode", "static")
                 .insertInto(name, overwrite=True))
            else:
                spark.sql(f"create database if not exists {schema}")
                df.write.format("parquet").saveAsTable(name)
            spark.catalog.refreshTable(name)


def _storage(arrow_type: pa.DataType) -> pa.DataType:
    """An extension type (DuckDB's JSON) as the plain type that holds it."""
    return arrow_type.storage_type if isinstance(arrow_type, pa.ExtensionType) else arrow_type


def _dbt(args: list[str], target_path: Path) -> float:
    """``dbt <args> --target spark`` in this process; its wall time. Fails the test on any dbt error."""
    from dbt.cli.main import dbtRunner

    started = time.perf_counter()
    result = dbtRunner().invoke([*args, "--target", "spark", "--project-dir", str(DBT_PROJECT_DIR),
                                 "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target_path),
                                 "--log-path", str(target_path / "logs")])
    elapsed = time.perf_counter() - started
    failed = [f"{r.node.name}: {r.message}" for r in (result.result or []) if r.status in ("error", "fail")]
    assert result.success and not failed, failed or result.exception
    return elapsed


def _differences(spark, warehouse: Path) -> tuple[list[str], int]:
    """Every dbt-built table of the DuckDB file against Spark's table of the same name."""
    problems, compared = [], 0
    drop = VOLATILE | ENGINE_SPECIFIC
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute(f"select table_schema, table_name from information_schema.tables "
                            f"where table_schema in {SCHEMAS!r} order by 1, 2").fetchall()
        for schema, table in names:
            if not spark.catalog.tableExists(f"{schema}.{table}"):
                problems.append(f"{schema}.{table}: not built on Spark")
                continue
            duck = frame(con.sql(f"select * from {schema}.{table}").to_arrow_table(), drop)
            problem = difference(duck, frame(spark.table(f"{schema}.{table}").toArrow(), drop), drop)
            compared += 1
            if problem:
                problems.append(f"{schema}.{table}: {problem}")
    return problems, compared


@pytest.fixture(scope="module")
def spark_env(spark, tmp_path_factory):
    """The environment dbt's Spark target reads; its own target folder (the project's is DuckDB's)."""
    # The profile's lake (warehouse dir, metastore) is the session's, whose static settings it cannot change.
    lake_dir = Path(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:")).parent
    with environment({"CEM_ENGINE": "spark", "CEM_LAKE_DIR": str(lake_dir), "CEM_SPARK_MASTER": "local[2]"}):
        yield tmp_path_factory.mktemp("spark_dbt") / "target"


def test_daily_and_hourly_builds_equal_duckdb(shared, spark, spark_env, capsys):
    started = time.perf_counter()
    _dbt(["seed"], spark_env)  # runs the on-run-start hooks: the source tables they declare exist from here on
    timings = {}
    for phase, args in ((shared.daily, DAILY), (shared.hourly, HOURLY)):
        assert phase.result.success
        _fill(spark, phase.warehouse, _sources())
        dbt_s = _dbt(args, spark_env)
        problems, compared = _differences(spark, phase.warehouse)
        timings[phase.name] = (dbt_s, compared)
        assert problems == [], f"{phase.name}: Spark and DuckDB differ:\n" + "\n".join(problems)
    with capsys.disabled():
        print(f"\nSpark leg {time.perf_counter() - started:.0f} s: " + "; ".join(
            f"{name} dbt {dbt_s:.0f} s, {compared} tables equal to DuckDB's" for name, (dbt_s, compared) in timings.items()))
