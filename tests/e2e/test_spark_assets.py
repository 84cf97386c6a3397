"""The Dagster graph with CEM_ENGINE=spark: the raw and masked assets of the same Definitions land and gate
into the lake (cem_pipeline/engines.py picks it), their checks prove every row, and nothing of it reaches the
DuckDB file. (The dbt half of the graph on Spark: tests/e2e/test_spark_dbt.py; the whole job on both engines
from one seed, cell by cell: bench/engines.py.)"""

from __future__ import annotations

import dagster as dg
import pytest

from cem_pipeline import schema
from cem_pipeline.lake import Lake
from tests.support.e2e import environment, failed_checks, pipeline_env, query

pytestmark = pytest.mark.e2e
ENTITIES = ("surveys",)


def test_raw_and_gates_run_on_spark_under_dagster(spark, make_simulator, tmp_path):
    from definitions import defs

    sim = make_simulator(seed=5, customers=80)
    env = pipeline_env(sim, tmp_path, CEM_ENGINE="spark", CEM_LAKE_DIR=str(tmp_path / "lake"))
    keys = [dg.AssetKey(f"{layer}_{e}") for e in ENTITIES for layer in ("raw", "masked")]
    with environment(env):
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            asset_selection=keys, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success and failed_checks(result) == []
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert {(c.asset_key.path[0], c.check_name) for c in checks if c.check_name == "reconciles_with_raw"} == \
        {(f"masked_{e}", "reconciles_with_raw") for e in ENTITIES}

    lake = Lake(spark, str(tmp_path / "lake"))
    truth = sim.world.truth_records(sim.now)
    for name in ENTITIES:
        raw = lake.raw_rows(name).toPandas()
        assert len(raw) == (truth.entity == name).sum()  # every version the source served, once
        gated = lake.read(schema.GATE_LEDGER).toPandas()
        gated = gated[gated.entity == name]
        assert gated.rows_in.sum() == len(raw) == gated.passed.sum() + gated.quarantined.sum()
    tables = query(tmp_path / "data" / "cem.duckdb",
                   "select table_schema from information_schema.tables") if (tmp_path / "data" / "cem.duckdb").exists() \
        else None
    assert tables is None or not set(tables.table_schema) & {schema.RAW, schema.MASKED}
