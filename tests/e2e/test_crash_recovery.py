"""Crash: kill the process in the middle of a materialization (SIGKILL, a real kill), rerun, and end
with the same staging and mart tables as an undisturbed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.support import REPO
from tests.support.e2e import pipeline_env

pytestmark = pytest.mark.e2e
RUN_JOB = """
import sys
import dagster as dg
from definitions import defs
result = defs.resolve_job_def(sys.argv[1]).execute_in_process(
    instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
    run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
sys.exit(0 if result.success else 1)
"""
JOB = "hourly_cx_refresh"


def _start(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUN_JOB, JOB], cwd=REPO, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


# Tables that describe the pipeline's runs rather than the data: a crashed run plus its rerun are two
# loads where the calm run made one, and these report exactly that.
RUN_DESCRIPTIONS = {"marts.quality_report"}


def _published_tables(path: Path) -> dict[str, list]:
    """Every staging and mart table's rows, without pipeline bookkeeping (_load_id, run reports...)."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_schema in ('staging', 'marts') and table_type = 'BASE TABLE'").fetchall()
        for schema, table in tables:
            if f"{schema}.{table}" in RUN_DESCRIPTIONS:
                continue
            columns = [c[0] for c in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [schema, table]).fetchall()
                if not c[0].startswith("_") and c[0] not in ("gated_at", "generated_at", "built_at")]
            cols = ", ".join(f'"{c}"' for c in columns)
            out[f"{schema}.{table}"] = sorted(map(repr, con.execute(f'select {cols} from {schema}."{table}"').fetchall()))
    return out


def test_killed_run_then_rerun_equals_an_undisturbed_run(tmp_path, make_simulator):
    sim = make_simulator(seed=21, customers=300)
    calm, crashed = tmp_path / "calm", tmp_path / "crashed"

    done = _start(pipeline_env(sim, calm))
    assert done.wait(timeout=600) == 0, done.stderr.read()[-3000:]

    # Slow pages so the kill lands in the middle of raw landing, with some entities already committed.
    sim.set_faults(delay_s=0.15)
    before = sum(sim.stats()["requests"].values())
    victim = _start(pipeline_env(sim, crashed, CEM_PAGE_SIZE="25"))
    deadline = time.monotonic() + 300
    while sum(sim.stats()["requests"].values()) - before < 40:
        assert victim.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    sim.set_faults()

    with duckdb.connect(str(crashed / "data" / "cem.duckdb"), read_only=True) as con:
        ledger = con.execute("select status, count(*) from raw.load_ledger group by 1").fetchall()
    print("\nledger after the kill:", json.dumps(dict(ledger)))
    assert dict(ledger).get("started", 0) == 1, "the killed load should be left as 'started'"

    rerun = _start(pipeline_env(sim, crashed))
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read()[-3000:]

    expected, actual = _published_tables(calm / "data" / "cem.duckdb"), _published_tables(crashed / "data" / "cem.duckdb")
    assert set(expected) == set(actual)
    assert len(expected) >= 10
    for table in expected:
        assert actual[table] == expected[table], f"{table} differs after the crash and rerun"
