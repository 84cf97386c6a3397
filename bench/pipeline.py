"""Pipeline benchmark: wall time and peak RSS of the full first materialization, then of an hourly
increment, as the source grows.

    .venv/bin/python bench/pipeline.py [--customers 20000 200000] [--increment-hours 1]

The simulator runs in its own process (`cem-simulator`). The Dagster job runs in a fresh worker
process per size, in process (as `make demo` does): `daily_cx_rebuild` first, then the simulator's
clock moves on by --increment-hours and `hourly_cx_refresh` runs. Peak RSS is the worker's own
(`ru_maxrss`) and, separately, its children's (the dbt subprocesses).

The `ml` group (sentiment model build and scoring) is left out of the full run unless --with-ml: its
cost is texts / throughput, measured by bench/sentiment.py, and would swamp everything else here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.simulator_process import simulator_process  # noqa: E402


def worker(url: str, workdir: str, hours: float) -> None:
    import dagster as dg

    os.environ.update({
        "CEM_ENV": "test", "CEM_SOURCE_BASE_URL": url, "CEM_SOURCE_API_KEY": "demo-key",
        "CEM_DATA_DIR": workdir, "CEM_WAREHOUSE_PATH": f"{workdir}/cem.duckdb",
        "CEM_PII_KEY": "bench-key-0123456789abcdef0123456789abcdef", "CEM_HTTP_READ_TIMEOUT": "300",
        "CEM_PAGE_SIZE": "5000",
    })
    from definitions import defs

    jobs = {"daily_cx_rebuild": defs.resolve_job_def("daily_cx_rebuild"),
            "hourly_cx_refresh": defs.resolve_job_def("hourly_cx_refresh")}
    if os.environ.get("BENCH_WITH_ML") != "1":  # the daily rebuild, less the ml group
        daily = dg.define_asset_job("daily_without_ml", selection=dg.AssetSelection.all() - dg.AssetSelection.groups("ml"),
                                    tags={"cadence": "daily"})
        bench_defs = dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, resources=defs.resources,
                                    jobs=[daily], executor=dg.in_process_executor)
        jobs["daily_cx_rebuild"] = bench_defs.resolve_job_def("daily_without_ml")

    figures = {}
    with dg.DagsterInstance.ephemeral() as instance:
        for label, job in (("full", "daily_cx_rebuild"), ("hourly", "hourly_cx_refresh")):
            if label == "hourly":
                requests.post(f"{url}/admin/advance", params={"hours": hours},
                              headers={"X-API-Key": "demo-key"}, timeout=60).raise_for_status()
            started = time.perf_counter()
            result = jobs[job].execute_in_process(
                instance=instance, raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
            seconds = time.perf_counter() - started
            served = sum(int(m.metadata["records_served"].value)
                         for e in result.get_asset_materialization_events()
                         if (m := e.materialization) and "records_served" in m.metadata)
            steps = step_seconds(instance, result)
            gates = sum(v for k, v in steps.items() if k.startswith("masked_") or k == "quality_report")
            figures[label] = {"success": result.success, "seconds": round(seconds, 1), "records_served": served,
                              "gate_seconds": round(gates, 1), "step_seconds": steps,
                              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                              "children_peak_rss_mb":
                                  round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}
    print(json.dumps(figures))


def step_seconds(instance, result) -> dict[str, float]:
    """Wall seconds per step of a run, from the instance's step stats."""
    return {st.step_key: round(st.end_time - st.start_time, 2)
            for st in instance.get_run_step_stats(result.run_id) if st.end_time and st.start_time}


def run_size(customers: int, hours: float) -> dict:
    with simulator_process(customers) as (url, _), tempfile.TemporaryDirectory() as workdir:
        done = subprocess.run([sys.executable, __file__, "--worker", url, workdir, str(hours)],
                              capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--increment-hours", type=float, default=1.0)
    parser.add_argument("--with-ml", action="store_true", help="include the sentiment model and scoring")
    args = parser.parse_args()
    os.environ["BENCH_WITH_ML"] = "1" if args.with_ml else "0"
    print(f"{'customers':>10} {'run':>7} {'records':>9} {'seconds':>8} {'gates s':>8} {'peak RSS MB':>12} "
          f"{'dbt RSS MB':>11} ok")
    for n in args.customers:
        figures = run_size(n, args.increment_hours)
        for label, f in figures.items():
            print(f"{n:>10,} {label:>7} {f['records_served']:>9,} {f['seconds']:>8} {f['gate_seconds']:>8} "
                  f"{f['peak_rss_mb']:>12} "
                  f"{f['children_peak_rss_mb']:>11} {f['success']}", flush=True)


if __name__ == "__main__":
    main()
