"""Dump every table dbt builds (staging, intermediate, marts) and the ML score tables on a fixed simulator
seed, and compare two dumps: the check that a refactor leaves every published number unchanged.

    .venv/bin/python bench/dump_marts.py dump OUT_DIR [--seed 7 --customers 600 --hours 2]
    .venv/bin/python bench/dump_marts.py compare BEFORE_DIR AFTER_DIR

``dump`` runs ``daily_cx_rebuild`` on a private simulator, then ``hourly_cx_refresh`` after each of
``--hours`` one-hour clock steps (so the incremental paths are covered too), then writes each table as a
CSV sorted by all its columns (floats are compared to a relative 1e-9: summation order). Columns that record *when* something was built (not what) are dropped:
their names are in ``VOLATILE``. The sentiment model is the tests' tiny seeded checkpoint, so scores are
deterministic. ``compare`` prints tables missing on either side and tables whose rows differ, and exits 1
if any do.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.tables import VOLATILE, difference  # noqa: E402  (the compare rules, shared with the Spark test)

SCHEMAS = ("staging", "intermediate", "marts", "ml")


def dump(out: Path, seed: int, customers: int, hours: int, model: str | None = None) -> None:
    import duckdb

    from cem_pipeline.simulator.server import SimulatorServer
    from tests.support.e2e import environment, pipeline_env, run_job

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, SimulatorServer(seed=seed, customers=customers) as sim:
        env = pipeline_env(sim, Path(tmp), **({"CEM_SENTIMENT_MODEL": model} if model else {}))
        with environment(env):
            results = [run_job("daily_cx_rebuild")]
            for _ in range(hours):
                sim.advance(1)
                results.append(run_job("hourly_cx_refresh"))
        if not all(r.success for r in results):
            raise SystemExit("a job failed; fix it before comparing dumps")
        with duckdb.connect(env["CEM_WAREHOUSE_PATH"], read_only=True) as con:
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables "
                f"where table_schema in {SCHEMAS!r} and table_type = 'BASE TABLE' or "
                f"(table_schema in {SCHEMAS!r} and table_type = 'VIEW') order by 1, 2").fetchall()
            for schema_name, table in tables:
                cols = [c for (c,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position", [schema_name, table]).fetchall() if c not in VOLATILE]
                select = ", ".join(f'"{c}"' for c in cols)
                order = ", ".join(str(i + 1) for i in range(len(cols)))
                con.execute(f'copy (select {select} from "{schema_name}"."{table}" order by {order}) '
                            f"to '{out / f'{schema_name}.{table}.csv'}' (header, quote '\"')")
    print(f"dumped {len(tables)} tables to {out}")


def compare(before: Path, after: Path) -> int:
    names_before = {p.name for p in before.glob("*.csv")}
    names_after = {p.name for p in after.glob("*.csv")}
    bad = 0
    for name in sorted(names_before - names_after):
        print(f"only before: {name}")
        bad += 1
    for name in sorted(names_after - names_before):
        print(f"only after:  {name}")
    same = 0
    for name in sorted(names_before & names_after):
        problem = difference(pd.read_csv(before / name), pd.read_csv(after / name))
        if problem:
            bad += 1
            print(f"differs:     {name}: {problem}")
        else:
            same += 1
    print(f"{same} tables identical; {bad} missing or different")
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--customers", type=int, default=600)
    d.add_argument("--hours", type=int, default=2)
    d.add_argument("--model", help="sentiment checkpoint (default: the tests' tiny one, built under this checkout's "
                                   "data/; its version id digests file times, so name the same one to compare)")
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out, args.seed, args.customers, args.hours, args.model)
    else:
        raise SystemExit(compare(args.before, args.after))


if __name__ == "__main__":
    main()
