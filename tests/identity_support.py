"""One shared small pipeline run for the identity and leak tests (run once per test process).

It runs the daily job in process against a simulator with a real DagsterInstance in a temporary
DAGSTER_HOME, so the leak test can read the persisted event log and compute logs."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import dagster as dg

from tests.e2e_support import TEST_PII_KEY, environment, pipeline_env, query, run_job

_STATE: dict = {}


def shared_run(corpus) -> dict:
    """{'sim', 'workdir', 'warehouse', 'instance', 'home', 'result', 'now', 'env'} of the first daily run."""
    if _STATE:
        return _STATE
    from cem_pipeline.simulator.server import SimulatorServer

    workdir = Path(tempfile.mkdtemp(prefix="cem_identity_"))
    home = workdir / "dagster_home"
    home.mkdir()
    sim = SimulatorServer(seed=23, customers=300, corpus=corpus).start()
    env = pipeline_env(sim, workdir, DAGSTER_HOME=str(home))
    with environment(env):
        instance = dg.DagsterInstance.local_temp(tempdir=str(home))
        result = run_job("daily_cx_rebuild", instance)
    _STATE.update(sim=sim, workdir=workdir, warehouse=workdir / "data" / "cem.duckdb", instance=instance,
                  home=home, result=result, now=sim.now, env=env)

    def _cleanup():
        sim.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    atexit.register(_cleanup)
    return _STATE


def record_keys(warehouse: Path):
    return query(warehouse, "select entity, record_id, customer_key, match_rule from intermediate.int_identity__record_keys")


def member_token(raw_member_id: str) -> str:
    from cem_pipeline.privacy import Tokenizer

    return Tokenizer(TEST_PII_KEY).token("member_id", raw_member_id)
