"""``cem-simulator``: serve the five simulated source systems on 127.0.0.1."""

from __future__ import annotations

import argparse
import sys

from cem_pipeline.simulator.server import DEFAULT_API_KEY, SimulatorServer
from cem_pipeline.simulator.styles import STYLES
from cem_pipeline.simulator.truth import write_truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cem-simulator", description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=2000, help="people behind the data; volume scales with it")
    parser.add_argument("--days", type=int, default=30, help="days of history visible at start")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--truth", metavar="DIR", help="write the ground truth as Parquet into DIR and continue")
    parser.add_argument("--style", choices=tuple(STYLES), default="default",
                        help="how the APIs speak: default (cursor + X-API-Key everywhere) or mixed (every paginator "
                             "and auth kind; read it with CEM_SOURCES_DIR=sources/mixed)")
    parser.add_argument("--control", action="store_true",
                        help="the control world: the same world without the planted metric drops")
    args = parser.parse_args(argv)

    sim = SimulatorServer(seed=args.seed, customers=args.customers, days=args.days, port=args.port,
                          api_key=args.api_key, drops=not args.control, style=args.style)
    if args.truth:
        for path in write_truth(sim.world, args.truth, sim.now):
            print(f"truth: {path}")
    counts = ", ".join(f"{name} {t.n:,}" for name, t in sim.world.tables.items())
    print(f"CEM source simulator on {sim.url} (API key {args.api_key!r}, style {args.style}); records in the "
          f"horizon: {counts}")
    if args.style != "default":
        print(f"Its declarations: CEM_SOURCES_DIR=sources/{args.style} (README \"Connecting your systems\").")
    print("Ctrl-C to stop.", flush=True)
    try:
        sim._server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
