"""Experience -> outcomes against the simulator's planted truth, over several seeds.

    .venv/bin/python bench/outcomes.py                      # 20k customers, 180 days, seeds 1-20
    .venv/bin/python bench/outcomes.py --customers 5000 --seeds 5

The analysis runs on its input computed from the truth (tests/support/outcomes_truth.py: the cohort at the
world's end, each customer's latest NPS answer before as_of_day - 90 and the orders the CRM serves after it),
so the figures measure the planting and the statistics, not identity resolution in front of them. Per seed:
the planted promoter - detractor difference in 90-day (and 30-day) repurchase probability within tier x tenure
strata (Mantel-Haenszel weights) and over everyone (what confounding adds), the adjusted and the naive
estimates with their 95% intervals and whether each holds the planted value. The issue's bar: the adjusted
interval holds the planted 90-day difference in >= 90% of seeds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cem_pipeline.analytics.outcomes import outcome_effects  # noqa: E402
from cem_pipeline.simulator.corpus import Corpus  # noqa: E402
from cem_pipeline.simulator.world import World  # noqa: E402
from tests.support.outcomes_truth import cohort, planted_difference, truth_strata  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args(argv)
    corpus = Corpus()
    print(f"# experience -> outcomes: {args.customers:,} customers, {args.days} days of history, "
          f"seeds 1-{args.seeds}")
    print(f"{'seed':>4} {'h':>3} {'prom':>5} {'detr':>5} {'planted':>8} {'planted naive':>13} "
          f"{'adjusted [95%]':>26} {'in':>3} {'naive [95%]':>26} {'in':>3} {'s':>5}")
    hits = {30: [0, 0], 90: [0, 0]}
    analysis_s = []
    for seed in range(1, args.seeds + 1):
        started = time.perf_counter()
        world = World(seed=seed, customers=args.customers, days=args.days, corpus=corpus)
        t = cohort(world, world.end)
        strata = truth_strata(t)
        a0 = time.perf_counter()
        effects = outcome_effects(strata)
        analysis_s.append(time.perf_counter() - a0)
        for horizon in (90, 30):
            row = effects[(effects["metric"] == "repurchase_rate") & (effects["horizon_days"] == horizon)].iloc[0]
            truth, naive_truth = planted_difference(t, horizon), planted_difference(t, horizon, adjusted=False)
            adj_in = row.adjusted_ci_low <= truth <= row.adjusted_ci_high
            naive_in = row.naive_ci_low <= truth <= row.naive_ci_high
            hits[horizon][0] += adj_in
            hits[horizon][1] += naive_in
            print(f"{seed:>4} {horizon:>3} {row.promoters:>5} {row.detractors:>5} {truth:>+8.4f} {naive_truth:>+13.4f} "
                  f"{row.adjusted_difference:>+8.4f} [{row.adjusted_ci_low:+.4f}, {row.adjusted_ci_high:+.4f}] "
                  f"{'y' if adj_in else 'n':>3} {row.naive_difference:>+8.4f} [{row.naive_ci_low:+.4f}, "
                  f"{row.naive_ci_high:+.4f}] {'y' if naive_in else 'n':>3} {time.perf_counter() - started:>5.1f}")
    n = args.seeds
    for horizon in (90, 30):
        adj, naive = hits[horizon]
        print(f"# {horizon}-day repurchase difference: adjusted interval holds the planted value in {adj}/{n} "
              f"seeds ({100 * adj / n:.0f}%); the naive interval in {naive}/{n} ({100 * naive / n:.0f}%)")
    print(f"# the analysis itself: {1000 * sum(analysis_s) / len(analysis_s):.0f} ms per run (every horizon x metric)")
    ok = hits[90][0] >= 0.9 * n
    print(f"# bar (adjusted 90-day interval holds the planted effect in >= 90% of seeds): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
