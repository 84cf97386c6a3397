"""Rebuild everything downstream of the masked layer after a privacy operation changed it (no Dagster).

An erasure deletes a subject from the tables Python writes, a key rotation re-tokenizes them; then every
dbt model is rebuilt from them with a full refresh (staging, intermediate, marts: every metric recomputed;
the identity key map is incremental and never refreshed, so every ``customer_key`` survives), the analysis
tables are recomputed from their dbt inputs, and the BI file (and its Parquet copies) is republished.
The same functions the Dagster assets call do the work: only the wiring is here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cem_pipeline.analytics.tables import (key_driver_tables, metric_alert_tables, outcome_effect_tables,
                                           replace_tables)
from cem_pipeline.config import Settings, analytics_settings
from cem_pipeline.publish import PublishResult, publish
from cem_pipeline.warehouse import Warehouse

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


class RebuildError(RuntimeError):
    pass


def _dbt() -> str:
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def dbt_full_refresh(settings: Settings) -> None:
    """`dbt run --full-refresh` of the whole project into the warehouse (tests are the pipeline's runs' job: a
    failing test must not leave a model un-rebuilt, holding the old rows). Its target and logs go to a
    temporary folder, so the project's manifest and partial-parse state stay the Dagster runs'."""
    env = {**os.environ, "CEM_WAREHOUSE_PATH": str(settings.warehouse_path.resolve()),
           "CEM_TIMEZONE": settings.timezone, **settings.engine.dbt_env()}
    with tempfile.TemporaryDirectory(prefix="cem_dbt_") as tmp:
        command = [_dbt(), "run", "--full-refresh", "--project-dir", str(DBT_PROJECT_DIR),
                   "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(Path(tmp) / "target"),
                   "--log-path", str(Path(tmp) / "logs")]
        done = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RebuildError(f"`dbt run --full-refresh` failed (exit {done.returncode}); fix it and run the "
                           f"command again, it carries on from here:\n{tail}")


def recompute_analytics(warehouse: Warehouse) -> dict[str, int]:
    """Key drivers and metric-drop tests and alerts from their dbt inputs, as the ``analytics`` assets do;
    the promoter - detractor outcome effects; the tables replaced in one transaction. Rows per table."""
    drivers_settings, drop_settings = analytics_settings()
    with warehouse.connect() as con:
        read = lambda qualified: con.execute(f"SELECT * FROM {qualified}").df()  # noqa: E731
        tables = {**key_driver_tables(read, drivers_settings), **metric_alert_tables(read, drop_settings),
                  **outcome_effect_tables(read)}
        replace_tables(con, tables)
    return {qualified: len(frame) for qualified, (_, frame) in tables.items()}


def republish(settings: Settings, warehouse: Warehouse) -> PublishResult:
    """The BI file and its Parquet copies, replaced atomically (cem_pipeline.publish)."""
    return publish(warehouse, settings.bi_file, settings.bi_parquet_dir, MANIFEST if MANIFEST.exists() else None)
