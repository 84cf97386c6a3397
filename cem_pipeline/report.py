"""The short report the main job prints: what landed where, and the headline metric."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cem_pipeline import schema
from cem_pipeline.schema import GATE_LEDGER, LAKE_TABLES
from cem_pipeline.sources.catalog import ENTITIES


def _table(headers: list[str], rows: list[tuple]) -> str:
    cells = [headers] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join("  " + line for line in lines)


def _exists(con, schema_name: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema_name, table]).fetchone()[0] > 0


def _lake_sizes(con) -> dict[tuple[str, str], int] | None:
    """On Spark, (layer, table) -> rows of the lake's tables, as the serving copy records them (lake.serve)."""
    schema_name, table = LAKE_TABLES.split(".")
    if not _exists(con, schema_name, table):
        return None
    return {(layer, t): rows for layer, t, rows in con.execute(f"select * from {LAKE_TABLES}").fetchall()}


def source_table(con) -> str:
    lake = _lake_sizes(con)
    rows = []
    for e in ENTITIES:
        if not _exists(con, schema.RAW, "load_ledger"):
            break
        last = con.execute(
            f"select records_served, rows_written, cursor_to from {schema.LOAD_LEDGER} "
            "where entity = ? and status = 'committed' order by finished_at desc limit 1", [e.name]).fetchone()
        if lake is not None:
            total = lake.get((schema.RAW, e.name), 0)
        else:
            total = con.execute(f"select count(*) from {schema.raw_table(e.name)}").fetchone()[0] \
                if _exists(con, schema.RAW, e.name) else 0
        gate = con.execute(f"select sum(passed), sum(quarantined) from {GATE_LEDGER} where entity = ?",
                           [e.name]).fetchone() if _exists(con, schema.QUARANTINE, "gate_ledger") else (None, None)
        if last:
            rows.append((e.name, f"{last[0]:,}", f"{last[1]:,}", f"{total:,}", gate[0], gate[1], last[2]))
    return _table(["source entity", "served (this run)", "landed (this run)", "raw total", "passed gates",
                   "quarantined", "watermark reached"], rows)


def layer_counts(con) -> str:
    rows = []
    lake = _lake_sizes(con)
    for layer in (schema.RAW, schema.QUARANTINE, schema.MASKED, schema.STAGING, schema.INTERMEDIATE, schema.MARTS):
        # Tables only, on both engines: a dbt view holds no rows of its own (and has no files in the lake).
        if lake is not None:
            sizes = [n for (lay, _), n in lake.items() if lay == layer]
            rows.append((layer, len(sizes), f"{sum(sizes):,}"))
            continue
        tables = con.execute("select table_name from information_schema.tables where table_schema = ? "
                             "and table_type = 'BASE TABLE' order by table_name", [layer]).fetchall()
        total = sum(con.execute(f'select count(*) from {layer}."{t[0]}"').fetchone()[0] for t in tables)
        rows.append((layer, len(tables), f"{total:,}"))
    return _table(["layer", "tables", "rows"], rows)


def nps_last_7_days(con) -> str:
    """NPS by channel over the last 7 days, as the mart computes it (the report only formats it)."""
    mart = "mart_nps_by_channel_last_7_days"
    if not _exists(con, schema.MARTS, mart):
        return f"  ({mart} not built)"
    rows = con.execute(f"select channel, n, nps, nps_margin_of_error, small_n from {schema.MARTS}.{mart} "
                       "order by channel").fetchall()
    out = [(channel, f"{n:,}", f"{nps:+.1f}", f"±{moe:.1f}", "small n" if small_n else "")
           for channel, n, nps, moe, small_n in rows]
    return _table(["channel", "responses", "NPS", "95% MoE", ""], out)


def key_drivers_overall(con, top: int = 5) -> str:
    """The overall key drivers, most important first (analytics.mart_key_drivers; the report only formats it)."""
    schema_name, table = schema.KEY_DRIVERS_TABLE.split(".")
    if not _exists(con, schema_name, table):
        return f"  ({schema.KEY_DRIVERS_TABLE} not built)"
    rows = con.execute(f"select driver, importance_share, effect_points, effect_ci_low, effect_ci_high, direction, "
                       f"share_affected, fix_first_rank from {schema.KEY_DRIVERS_TABLE} "
                       "where segment_kind = 'overall' order by importance desc limit ?", [top]).fetchall()
    if not rows:
        return "  (too few NPS answers for key drivers yet)"
    out = [(d, f"{share:.0%}", f"{eff:+.2f} [{lo:+.2f}, {hi:+.2f}]", direction, f"{aff:.1%}",
            "" if rank is None else str(rank)) for d, share, eff, lo, hi, direction, aff, rank in rows]
    return _table(["driver", "share of R²", "effect (points, 95%)", "", "affected", "fix first"], out)


def metric_alerts_now(con, top: int = 5) -> str:
    """The significant drops of this run (analytics.mart_metric_alerts), largest first."""
    schema_name, table = schema.METRIC_ALERTS_TABLE.split(".")
    if not _exists(con, schema_name, table):
        return f"  ({schema.METRIC_ALERTS_TABLE} not built)"
    tested = con.execute(f"select count(*) from {schema.METRIC_TESTS_TABLE}").fetchone()[0]
    rows = con.execute(f"select metric, segment_kind, segment_value, window_days, change, change_ci_low, "
                       f"change_ci_high, q_value from {schema.METRIC_ALERTS_TABLE} "
                       "order by q_value, metric, segment_kind, segment_value limit ?", [top]).fetchall()
    if not rows:
        return f"  none: no significant drop among {tested:,} tests"
    out = [(m, f"{kind}={value}", f"{w}d", f"{c:+.2f} [{lo:+.2f}, {hi:+.2f}]", f"{q:.2g}")
           for m, kind, value, w, c, lo, hi, q in rows]
    return _table(["metric", "segment", "window", "change (95%)", "q"], out)


def demo_report(warehouse_path: Path, elapsed_s: float, run_id: str, success: bool) -> str:
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        parts = [
            "",
            f"Main job {'succeeded' if success else 'FAILED'} in {elapsed_s:.1f} s (Dagster run {run_id}).",
            "",
            "Sources pulled into raw:",
            source_table(con),
            "",
            "Rows per layer:",
            layer_counts(con),
            "",
            "NPS by channel, last 7 days (all stores):",
            nps_last_7_days(con),
            "",
            "Key drivers of likelihood-to-recommend (overall, last 90 days):",
            key_drivers_overall(con),
            "",
            "Significant metric drops (latest day and 7 days vs the 28 before; BH-adjusted q):",
            metric_alerts_now(con),
            "",
            f"Warehouse (DuckDB): {warehouse_path}" + (" (serving copy of the Spark lake's marts)"
                                                       if _lake_sizes(con) is not None else ""),
            "Open the Dagster UI with `make ui` (http://127.0.0.1:3000); run `make demo` again for an "
            "incremental run (the simulator's clock moves one hour on each time).",
        ]
    if not success:
        parts.append("The run failed: open the UI (`make ui`) and look at the failed step's logs.")
    return "\n".join(parts)
