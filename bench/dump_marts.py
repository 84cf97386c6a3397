"""Dump every table dbt builds (staging, intermediate, marts) and the ML score tables on a fixed simulator
seed, and compare two dumps: the check that a refactor leaves every published number unchanged.

    .venv/bin/python bench/dump_marts.py dump OUT_DIR [--seed 7 --customers 600 --hours 2]
    .venv/bin/python bench/dump_marts.py compare BEFORE_DIR AFTER_DIR

``dump`` runs ``daily_cx_rebuild`` on a private simulator, then ``hourly_cx_refresh`` after each of
``--hours`` one-hour clock steps (so the incremental paths are covered too), then writes each table as a
CSV sorted by all its columns. Columns that record *when* something was built (not what) are dropped:
their names are in ``VOLATILE``. The sentiment model is the tests' tiny seeded checkpoint, so scores are
deterministic. ``compare`` prints tables missing on either side and tables whose rows differ, and exits 1
if any do.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Wall-clock columns: when a row was written, never a fact about the data.
VOLATILE = {"_dbt_loaded_at", "_built_at", "built_at", "scored_at", "_scored_at", "published_at", "created_at_utc",
            "_loaded_at", "sent_at", "first_attempt_at", "last_attempt_at", "next_attempt_at"}
SCHEMAS = ("staging", "intermediate", "marts", "ml")


def dump(out: Path, seed: int, customers: int, hours: int) -> None:
    import duckdb

    from cem_pipeline.simulator.server import SimulatorServer
    from tests.e2e_support import environment, pipeline_env, run_job

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, SimulatorServer(seed=seed, customers=customers) as sim:
        env = pipeline_env(sim, Path(tmp))
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
    for name in sorted(names_before & names_after):
        a, b = (before / name).read_text(), (after / name).read_text()
        if a != b:
            bad += 1
            print(f"differs:     {name} ({a.count(chr(10))} vs {b.count(chr(10))} lines)")
    same = len(names_before & names_after) - sum(
        (before / n).read_text() != (after / n).read_text() for n in names_before & names_after)
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
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out, args.seed, args.customers, args.hours)
    else:
        raise SystemExit(compare(args.before, args.after))


if __name__ == "__main__":
    main()
