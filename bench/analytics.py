"""Key drivers and metric-drop alerts against the simulator's planted truth, over several seeds.

    .venv/bin/python bench/analytics.py                      # 20k customers, seeds 1-10, control seeds 101-110
    .venv/bin/python bench/analytics.py --customers 5000 --seeds 3

The analyses run on their inputs computed from the truth (tests/support/analytics_truth.py: a response's
observed driver is its planted experience; segments are the planted ones), so the figures measure the
statistics, not the sentiment model or identity resolution in front of them. Printed:

- key drivers, per seed: Spearman between the estimated importance (overall) and the true one over the
  non-zero drivers; whether every sign is right; whether each zero driver's effect interval covers 0
  (the issue's bar: Spearman >= 0.9; each zero driver covers 0 in >= 90% of seeds);
- drops: every planted drop with its true NPS drop, NPS responses in its first two days and whether the run
  after its first day caught it (the bar: >= 90% of drops of >= 10 points with >= 100 responses);
- control worlds (no drops): the share of runs (one every other day from day 24 to 43) raising any alert
  (the bar: <= 5%);
- the seconds one analysis takes (key drivers: every segment, 400 resamples; drops: every test of a run).

``--pipeline MODEL_DIR`` instead runs the daily job (sources over HTTP, gates, dbt, scoring with the sentiment
model in MODEL_DIR, the analysis assets) on one seed and compares what the product shows with the truth:
the key drivers as the pipeline finds them from topic mentions and sentence sentiment (so the sentiment
model's errors count), and the metric alerts of that run against the planted drops active on its day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cem_pipeline.analytics.drivers import DriverSettings, key_drivers  # noqa: E402
from cem_pipeline.analytics.drops import metric_alerts, metric_tests  # noqa: E402
from cem_pipeline.simulator.world import START, World  # noqa: E402
from tests.support.analytics_truth import truth_cells, truth_windows  # noqa: E402


def pipeline(customers: int, seed: int, model_dir: str) -> int:
    import tempfile

    import duckdb

    from cem_pipeline.simulator.server import SimulatorServer
    from tests.support.e2e import environment, pipeline_env, run_job

    workdir = Path(tempfile.mkdtemp(prefix="cem_bench_analytics_"))
    sim = SimulatorServer(seed=seed, customers=customers).start()
    env = pipeline_env(sim, workdir, CEM_SENTIMENT_MODEL=model_dir, CEM_PAGE_SIZE="5000", CEM_HTTP_READ_TIMEOUT="300")
    for name in ("CEM_KEY_DRIVER_MIN_RESPONSES", "CEM_KEY_DRIVER_MIN_MENTIONS", "CEM_KEY_DRIVER_BOOTSTRAP",
                 "CEM_DROP_MIN_CURRENT", "CEM_DROP_MIN_BASELINE"):
        env.pop(name)  # the defaults a user gets
    try:
        with environment(env):
            started = time.perf_counter()
            result = run_job("daily_cx_rebuild")
            seconds = time.perf_counter() - started
        assert result.success, "the daily job failed"
        with duckdb.connect(env["CEM_WAREHOUSE_PATH"], read_only=True) as con:
            found = con.execute("select * from analytics.mart_key_drivers where segment_kind = 'overall'").df()
            alerts = con.execute("select * from analytics.mart_metric_alerts").df()
            tests = con.execute("select count(*) from analytics.metric_tests").fetchone()[0]
            as_of = con.execute("select max(as_of_day) from intermediate.int_metric_windows").fetchone()[0]
    finally:
        sim.stop()
    truth = sim.world.truth_drivers().set_index("driver")
    found = found.set_index("driver")
    print(f"# pipeline: {customers:,} customers, seed {seed}, daily job {seconds:.0f} s (scoring included), "
          f"model {Path(model_dir).name}")
    print(f"{'driver':<20} {'true effect':>11} {'true rank':>9} {'importance':>10} {'effect [95%]':>22} direction")
    for driver, t in truth.iterrows():
        if driver in found.index:
            f = found.loc[driver]
            print(f"{driver:<20} {t.effect_points:>+11.1f} {str(t['rank']):>9} {f.importance:>10.4f} "
                  f"{f.effect_points:>+7.2f} [{f.effect_ci_low:+.2f}, {f.effect_ci_high:+.2f}] {f.direction}")
        else:
            print(f"{driver:<20} {t.effect_points:>+11.1f} {str(t['rank']):>9} {'(too few mentions)':>10}")
    nonzero = [d for d in truth.index[truth["effect_points"] != 0] if d in found.index]
    rho = spearmanr(found.loc[nonzero, "importance"], truth.loc[nonzero, "importance"]).statistic
    zeros = [d for d in truth.index[truth["effect_points"] == 0] if d in found.index]
    covered = sum(found.loc[d, "effect_ci_low"] <= 0 <= found.loc[d, "effect_ci_high"] for d in zeros)
    print(f"Spearman over the non-zero drivers: {rho:.3f} (bar 0.9: {'met' if rho >= 0.9 else 'MISSED'}); "
          f"zero drivers covering 0: {covered}/{len(zeros)}")
    print(f"\nrun of {as_of}: {tests} tests, {len(alerts)} alerts")
    for a in alerts.itertuples():
        print(f"  {a.metric} {a.segment_kind}={a.segment_value} {a.window_days}d: {a.change:+.2f} "
              f"[{a.change_ci_low:+.2f}, {a.change_ci_high:+.2f}] q={a.q_value:.2g}; moved: {a.drivers_moved}")
    for d in sim.world.truth_drops().itertuples():
        if d.first_day <= as_of <= d.last_day:
            hit = ((alerts["metric"] == "nps") & (alerts["segment_kind"] == d.segment)
                   & (alerts["segment_value"] == d.value)).any()
            print(f"  planted: {d.segment}={d.value} since {d.first_day}, true drop {d.true_nps_drop:.1f}, cause "
                  f"{d.driver}: {'alerted' if hit else 'not alerted'}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--pipeline", metavar="MODEL_DIR", help="run the daily job with this sentiment model")
    parser.add_argument("--seed", type=int, default=1, help="the seed of --pipeline")
    args = parser.parse_args(argv)
    if args.pipeline:
        return pipeline(args.customers, args.seed, args.pipeline)

    print(f"# analytics against the planted truth: {args.customers:,} customers, {args.seeds} seeds")
    rhos, covers, cover_total, driver_s, drop_s = [], {}, 0, [], []
    drops = []
    for seed in range(1, args.seeds + 1):
        world = World(seed=seed, customers=args.customers)
        truth = world.truth_drivers().set_index("driver")
        cells = truth_cells(world, world.end)
        t = time.perf_counter()
        found = key_drivers(cells, DriverSettings(seed=seed))
        driver_s.append(time.perf_counter() - t)
        overall = found[found["segment_kind"] == "overall"].set_index("driver")
        nonzero = truth.index[truth["effect_points"] != 0]
        rho = spearmanr(overall.loc[nonzero, "importance"], truth.loc[nonzero, "importance"]).statistic
        signs = bool((np.sign(overall.loc[nonzero, "effect_points"]) == np.sign(truth.loc[nonzero, "effect_points"])).all())
        rhos.append(rho)
        zero = []
        for driver in truth.index[truth["effect_points"] == 0]:
            row = overall.loc[driver]
            ok = bool(row.effect_ci_low <= 0 <= row.effect_ci_high)
            covers[driver] = covers.get(driver, 0) + ok
            zero.append(f"{driver} {'covers' if ok else 'MISSES'} 0 [{row.effect_ci_low:+.2f}, {row.effect_ci_high:+.2f}]")
        cover_total += 1
        nps_n = int(cells["responses"].sum())
        print(f"seed {seed}: {nps_n:,} NPS responses; Spearman {rho:.3f}; signs {'right' if signs else 'WRONG'}; "
              + "; ".join(zero))
        for drop in world.truth_drops().itertuples():
            as_of = drop.first_day + dt.timedelta(days=1)
            t = time.perf_counter()
            tests = metric_tests(truth_windows(world, as_of))
            alerts = metric_alerts(tests)
            drop_s.append(time.perf_counter() - t)
            caught = bool(((alerts["metric"] == "nps") & (alerts["segment_kind"] == drop.segment)
                           & (alerts["segment_value"] == drop.value)).any())
            drops.append((seed, drop.segment, drop.value, drop.true_nps_drop, drop.responses_first_two_days, caught))

    print("\n## planted drops (run after the first day)")
    print(f"{'seed':>4}  {'segment':<12} {'value':<14} {'true drop':>9} {'n (2 days)':>10}  caught")
    for seed, seg, value, size, n, caught in drops:
        print(f"{seed:>4}  {seg:<12} {str(value):<14} {size:>9.1f} {n:>10}  {'yes' if caught else 'no'}")
    eligible = [d for d in drops if d[3] >= 10 and d[4] >= 100]
    bins = [(0, 30), (30, 100), (100, 10**9)]
    print("\ncaught by size of segment (drops of >= 10 NPS points):")
    for lo, hi in bins:
        part = [d for d in drops if d[3] >= 10 and lo <= d[4] < hi]
        if part:
            print(f"  {lo}-{hi if hi < 10**9 else '...'} responses in 2 days: {sum(d[5] for d in part)}/{len(part)}")

    runs = alerting = 0
    for seed in range(101, 101 + args.seeds):
        world = World(seed=seed, customers=args.customers, drops=False)
        for day in range(24, 44, 2):
            alerts = metric_alerts(metric_tests(truth_windows(world, START.date() + dt.timedelta(days=day))))
            runs += 1
            alerting += len(alerts) > 0

    print("\n## summary")
    print(f"key drivers: Spearman (non-zero drivers) min {min(rhos):.3f}, median {np.median(rhos):.3f} "
          f"(bar 0.9: {'met' if min(rhos) >= 0.9 else 'MISSED'})")
    worst = min(covers.values()) / cover_total
    print("zero drivers' effect intervals covering 0: "
          + ", ".join(f"{d} {c}/{cover_total}" for d, c in covers.items())
          + f" (bar 90% each: {'met' if worst >= 0.9 else 'MISSED'})")
    caught = sum(d[5] for d in eligible)
    print(f"drops of >= 10 points with >= 100 responses caught within a day: {caught}/{len(eligible)} "
          f"(bar 90%: {'met' if eligible and caught >= 0.9 * len(eligible) else 'MISSED'})")
    print(f"control runs raising any alert: {alerting}/{runs} = {alerting / runs:.1%} "
          f"(bar 5%: {'met' if alerting <= 0.05 * runs else 'MISSED'})")
    print(f"seconds: key drivers (all segments, 400 resamples) median {np.median(driver_s):.2f}; "
          f"drop tests of one run median {np.median(drop_s):.2f} (truth windows included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
