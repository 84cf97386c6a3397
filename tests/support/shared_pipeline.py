"""One session-wide materialization for the read-only end-to-end tests.

The daily job runs once against one simulator (seed 5, 300 people) with a real DagsterInstance in a
temporary DAGSTER_HOME (the leak test reads its event log and compute logs), then the simulator's clock
moves HOURLY_STEP_H hours on and the hourly job runs. After each run the data directory is copied, so
every test reads the state of the phase it asks for, whatever ran before it:

- ``shared.daily`` / ``shared.hourly``: a :class:`Phase` (the job's result, the simulator clock when it
  ran, the copied warehouse and data directory);
- ``shared.run_on_copy(phase, name, run)``: a further run on a private copy of a phase (the ML-only run
  after the hourly job, a full rebuild on the hourly state); it never moves the simulator's clock, so the
  phases above stay true, and it is run once per name;
- ``shared.private_copy(phase, workdir)``: just the copy and its environment, for a test that changes the
  warehouse itself (the backfill test).

Tests that inject faults, kill processes or need their own world keep their own simulator.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import dagster as dg

from cem_pipeline.simulator.server import SimulatorServer
from tests.support.e2e import environment, pipeline_env, run_job

SEED, CUSTOMERS = 5, 300
HOURLY_STEP_H = 30  # long enough for new records, late answers and corrections in every source


@dataclass(frozen=True)
class Phase:
    name: str
    result: dg.ExecuteInProcessResult
    now: int  # the simulator's clock when the run ran
    workdir: Path  # a private copy: <workdir>/data holds the warehouse, the BI file, the outbox

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "cem.duckdb"

    @property
    def bi_file(self) -> Path:
        return self.data_dir / "bi" / "cem_bi.duckdb"


class SharedPipeline:
    def __init__(self, corpus):
        self.root = Path(tempfile.mkdtemp(prefix="cem_e2e_"))
        self.live = self.root / "live"  # where the jobs write; tests read the phase copies
        self.home = self.root / "dagster_home"
        self.home.mkdir(parents=True)
        self.sim = SimulatorServer(seed=SEED, customers=CUSTOMERS, corpus=corpus).start()
        self.env = pipeline_env(self.sim, self.live, DAGSTER_HOME=str(self.home))
        self.instance = dg.DagsterInstance.local_temp(tempdir=str(self.home))
        self._copies: dict[str, Phase] = {}
        atexit.register(self.close)
        self.daily = self._run("daily", "daily_cx_rebuild")
        self.sim.advance(hours=HOURLY_STEP_H)
        self.hourly = self._run("hourly", "hourly_cx_refresh")

    def _run(self, name: str, job: str) -> Phase:
        with environment(self.env):
            result = run_job(job, self.instance)
        return self._snapshot(name, result, self.live / "data")

    def _snapshot(self, name: str, result, data_dir: Path) -> Phase:
        workdir = self.root / name
        shutil.copytree(data_dir, workdir / "data")
        return Phase(name, result, self.sim.now, workdir)

    def run_on_copy(self, phase: Phase, name: str,
                    run: Callable[[dict[str, str]], dg.ExecuteInProcessResult]) -> Phase:
        """``run(env)`` on a private copy of ``phase``'s data directory, with ``env`` the pipeline's
        environment pointing at that copy; the result is a new phase ``name`` (run once per name)."""
        if name not in self._copies:
            workdir = self.root / f"{name}.work"
            env = self.private_copy(phase, workdir)
            with environment(env):
                result = run(env)
            self._copies[name] = self._snapshot(name, result, workdir / "data")
        return self._copies[name]

    def private_copy(self, phase: Phase, workdir: Path) -> dict[str, str]:
        """Copy ``phase``'s data directory to ``workdir/data``; the pipeline environment pointing at it (a
        test that changes the warehouse, e.g. a backfill, works there; the simulator is shared: never move
        its clock or set faults)."""
        shutil.copytree(phase.data_dir, workdir / "data")
        return pipeline_env(self.sim, workdir)

    def close(self) -> None:
        if self.root.exists():
            self.sim.stop()
            shutil.rmtree(self.root, ignore_errors=True)
