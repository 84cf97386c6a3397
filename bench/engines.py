"""Both engines on the same world: the daily job, then one hourly increment, on DuckDB and on Spark.

    .venv/bin/python bench/engines.py --customers 2000
    .venv/bin/python bench/engines.py --customers 20000 --spark-master 'local[2]'

Per engine and step group (raw landing, gates, dbt, ml, publication, checks) it prints the wall time (the
sum of the group's step durations, from Dagster's step events) and the peak memory (the resident set of this
process and all its children, dbt's process and Spark's JVM included, sampled every 0.2 s while the group's
steps ran). Its last line says whether every mart cell is equal on both engines: the DuckDB run's marts
against the Spark run's serving copy, by tests/support/tables.py's rules (rows as sets, floats to 1e-9,
wall-clock columns dropped). Both runs score with the same tiny checkpoint (tests/support/ml.py), so the
timing is the pipeline's, not the model's; the sentiment benchmarks are bench/sentiment*.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import dagster as dg
import duckdb
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cem_pipeline.simulator.corpus import Corpus  # noqa: E402
from cem_pipeline.simulator.server import SimulatorServer  # noqa: E402
from tests.support.e2e import environment, pipeline_env, run_job  # noqa: E402
from tests.support.tables import VOLATILE, difference, frame  # noqa: E402

GROUPS = (("raw_", "raw landing"), ("masked_", "gates"), ("cem_dbt_models", "dbt"), ("sentiment", "ml"),
          ("bi_publication", "publication"))
HOURLY_STEP_H = 30
# Each engine fingerprints a day's rows with its own 64-bit hash (macros/portable.sql row_hash): not compared.
DROP = VOLATILE | {"_day_hash"}


def group_of(step_key: str) -> str:
    for prefix, name in GROUPS:
        if step_key.startswith(prefix):
            return name
    return "checks and other"


class Sampler:
    """The resident memory of this process tree, every ``interval`` seconds, with the time it was read."""

    def __init__(self, interval: float = 0.2):
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            rss = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            self.samples.append((time.time(), rss))
            self._stop.wait(interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def step_intervals(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, float, float]]:
    """(step key, start, end) of every step that ran, from the run's event log (retries included)."""
    starts, out = {}, []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY") and event.step_key in starts:
            out.append((event.step_key, starts.pop(event.step_key), entry.timestamp))
    return out


def profile(instance, result, sampler: Sampler) -> dict[str, tuple[float, float]]:
    """Step group -> (seconds, peak GiB)."""
    seconds, peak = defaultdict(float), defaultdict(int)
    for step, start, end in step_intervals(instance, result.run_id):
        group = group_of(step)
        seconds[group] += end - start
        peak[group] = max([peak[group], *(rss for t, rss in sampler.samples if start <= t <= end)])
    return {g: (seconds[g], peak[g] / 2**30) for g in seconds}


def run_engine(engine: str, seed: int, customers: int, workdir: Path, corpus, master: str) -> dict:
    sim = SimulatorServer(seed=seed, customers=customers, corpus=corpus).start()
    extra = {"CEM_ENGINE": engine}
    if engine == "spark":
        extra.update(CEM_SPARK_MASTER=master, CEM_LAKE_DIR=str(workdir / "lake"))
    env = pipeline_env(sim, workdir, DAGSTER_HOME=str(workdir / "dagster_home"), **extra)
    (workdir / "dagster_home").mkdir(parents=True)
    instance = dg.DagsterInstance.local_temp(tempdir=str(workdir / "dagster_home"))
    out = {}
    try:
        with environment(env):
            for job in ("daily_cx_rebuild", "hourly_cx_refresh"):
                if job.startswith("hourly"):
                    sim.advance(hours=HOURLY_STEP_H)
                started = time.time()
                with Sampler() as sampler:
                    result = run_job(job, instance)
                not_run = [e.step_key for e in result.all_events
                           if e.event_type_value in ("STEP_FAILURE", "STEP_SKIPPED")]
                if not result.success or not_run:
                    raise SystemExit(f"{engine}: {job} failed or skipped steps {sorted(set(not_run))}")
                out[job] = (time.time() - started, profile(instance, result, sampler))
    finally:
        sim.stop()
    out["warehouse"] = Path(env["CEM_WAREHOUSE_PATH"])
    return out


def marts(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                           "where table_schema = 'marts' order by 1").fetchall()]
        return {n: frame(con.execute(f'select * from marts."{n}"').to_arrow_table(), DROP) for n in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spark-master", default="local[2]")
    args = parser.parse_args()
    corpus = Corpus()
    root = Path(tempfile.mkdtemp(prefix="cem_engines_"))
    runs = {e: run_engine(e, args.seed, args.customers, root / e, corpus, args.spark_master)
            for e in ("duckdb", "spark")}

    print(f"\nEngines, seed {args.seed}, {args.customers:,} customers (Spark master {args.spark_master})\n")
    print(f"| job | step group | {' | '.join(f'{e} s | {e} peak GiB' for e in runs)} |")
    print("|---|---|" + "---|---|" * len(runs))
    for job in ("daily_cx_rebuild", "hourly_cx_refresh"):
        groups = sorted({g for r in runs.values() for g in r[job][1]})
        for g in groups:
            cells = [f"{r[job][1].get(g, (0, 0))[0]:.1f} | {r[job][1].get(g, (0, 0))[1]:.2f}" for r in runs.values()]
            print(f"| {job} | {g} | {' | '.join(cells)} |")
        print(f"| {job} | **whole job (wall)** | {' | '.join(f'{r[job][0]:.1f} | ' for r in runs.values())} |")

    duck, spark = marts(runs["duckdb"]["warehouse"]), marts(runs["spark"]["warehouse"])
    problems = [f"{n}: only on {'duckdb' if n in duck else 'spark'}" for n in sorted(set(duck) ^ set(spark))]
    for name in sorted(set(duck) & set(spark)):
        diff = difference(duck[name], spark[name], DROP)
        if diff:
            problems.append(f"{name}: {diff}")
    for p in problems:
        print("  differs:", p)
    print(f"marts equal on duckdb and spark: {'no' if problems else 'yes'}")


if __name__ == "__main__":
    main()
