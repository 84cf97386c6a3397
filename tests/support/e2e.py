"""Helpers for end-to-end tests: run the real Dagster jobs against a simulator, read the warehouse,
and compare with the simulator's ground truth."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from cem_pipeline import schema
from cem_pipeline.simulator.server import SimulatorServer
from cem_pipeline.sources.catalog import ENTITIES
from tests.support.ml import tiny_sentiment_model

TEST_PII_KEY = "test-key-0123456789abcdef0123456789abcdef"
STAGING_OF = {e.name: (e.staging_model, e.staging_key) for e in ENTITIES}  # entity -> (staging model, its key column)


def pipeline_env(sim: SimulatorServer, workdir: Path, **extra) -> dict[str, str]:
    env = {
        "CEM_ENV": "test",
        "CEM_SOURCE_BASE_URL": sim.url,
        "CEM_SOURCE_API_KEY": sim.api_key,
        "CEM_DATA_DIR": str(workdir / "data"),
        "CEM_WAREHOUSE_PATH": str(workdir / "data" / "cem.duckdb"),
        "CEM_PII_KEY": TEST_PII_KEY,
        "CEM_HTTP_READ_TIMEOUT": "5",
        "CEM_HTTP_BACKOFF_FACTOR": "0.01",
        "CEM_HTTP_BACKOFF_MAX": "0.2",
        # The ml group runs in the daily job: score with a tiny random checkpoint (milliseconds, no
        # training); tests/e2e/test_ml.py covers the ml assets themselves.
        "CEM_SENTIMENT_MODEL": str(tiny_sentiment_model()),
        # A few hundred customers: small enough samples that the analyses produce rows to check.
        "CEM_KEY_DRIVER_MIN_RESPONSES": "40",
        "CEM_KEY_DRIVER_MIN_MENTIONS": "3",
        "CEM_KEY_DRIVER_BOOTSTRAP": "100",
        "CEM_DROP_MIN_CURRENT": "5",
        "CEM_DROP_MIN_BASELINE": "10",
    }
    env.update(extra)
    return env


@contextmanager
def environment(env: dict[str, str]):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_job(job_name: str, instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    from definitions import defs

    return defs.resolve_job_def(job_name).execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False)


def failed_checks(result: dg.ExecuteInProcessResult) -> list[str]:
    out = []
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                out.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    return out


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()


def nps_by_day_channel(warehouse: Path) -> pd.DataFrame:
    """mart_nps_daily rolled up over stores, as the truth is."""
    return query(warehouse, """
        select feedback_day as day, channel, sum(n) as n, sum(promoters) as promoters,
               sum(detractors) as detractors,
               100.0 * (sum(promoters) - sum(detractors)) / sum(n) as nps
        from marts.mart_nps_daily group by 1, 2 order by 1, 2
    """)


def truth_nps(sim: SimulatorServer, now: int | None = None) -> pd.DataFrame:
    """The true NPS per day x channel at ``now`` (default: the simulator's clock)."""
    truth = sim.world.truth_metrics(sim.now if now is None else now)
    nps = truth[truth.survey_type == "nps"].rename(columns={"value": "nps"})
    return nps[["day", "channel", "n", "promoters", "detractors", "nps"]].sort_values(["day", "channel"])
