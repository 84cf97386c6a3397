"""Quality-gate throughput: great-expectations suites + Python row rules on records of a simulated
world (default 200k customers), in batches of gates.BATCH_ROWS; and the fixed cost per batch.

    .venv/bin/python bench/quality.py [--customers 200000] [--batches 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from cem_pipeline.gates import BATCH_ROWS
from cem_pipeline.quality.rules import validate_batch
from cem_pipeline.simulator.world import World
from cem_pipeline.sources.catalog import ENTITIES


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--batches", type=int, default=2, help="20k-row batches per entity")
    args = ap.parse_args()
    t0 = time.perf_counter()
    world = World(seed=7, customers=args.customers)
    print(f"world of {args.customers} customers built in {time.perf_counter() - t0:.1f}s")
    now = dt.datetime.fromtimestamp(world.initial_now, dt.timezone.utc)
    t0 = time.perf_counter()
    validate_batch(ENTITIES[0], [{}], now)
    print(f"first call (GX import + ephemeral context): {time.perf_counter() - t0:.2f}s")
    total_rows, total_s = 0, 0.0
    for e in ENTITIES:
        table = world.tables[e.name]
        idx, _, v2 = table.visible_current(world.initial_now)
        rows, secs = 0, 0.0
        for b in range(args.batches):
            sl = slice(b * BATCH_ROWS, (b + 1) * BATCH_ROWS)
            records = table.build(idx[sl], v2[sl])
            if not records:
                break
            t0 = time.perf_counter()
            validate_batch(e, records, now)
            secs += time.perf_counter() - t0
            rows += len(records)
        small = table.build(idx[:50], v2[:50])
        t0 = time.perf_counter()
        validate_batch(e, small, now)
        fixed = time.perf_counter() - t0
        total_rows, total_s = total_rows + rows, total_s + secs
        print(f"{e.name:14s} {rows:7d} rows {secs:6.2f}s {rows / secs:8.0f} rows/s   50-row batch {fixed:.2f}s")
    print(f"all            {total_rows:7d} rows {total_s:6.2f}s {total_rows / total_s:8.0f} rows/s")


if __name__ == "__main__":
    main()
