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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args(argv)

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
