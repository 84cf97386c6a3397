"""The data-quality report: per source, rows gated, pass rate, top failing rules, warnings and schema
drift over a window of gate runs. Written to ``marts.quality_report`` (a published schema, so BI
reads it) and rendered as a markdown table for the Dagster UI."""

from __future__ import annotations

import datetime as dt

from cem_pipeline import schema
from cem_pipeline.gates import DRIFT_TABLE, GATE_LEDGER, WARNINGS_TABLE, ensure_tables
from cem_pipeline.sources.catalog import ENTITIES
from cem_pipeline.warehouse import Warehouse

REPORT_TABLE = f"{schema.MARTS}.quality_report"
REPORT_COLUMNS = """
    report_day DATE NOT NULL,
    entity VARCHAR NOT NULL,
    loads BIGINT NOT NULL,
    rows_in BIGINT NOT NULL,
    passed BIGINT NOT NULL,
    quarantined BIGINT NOT NULL,
    pass_rate DOUBLE,
    warned_rows BIGINT NOT NULL,
    top_failing_rules VARCHAR,
    top_warnings VARCHAR,
    unknown_fields VARCHAR,
    generated_at TIMESTAMP NOT NULL
"""
TOP = 3


def build_report(warehouse: Warehouse, day: dt.date | None = None) -> list[dict]:
    """Rows of the report for the gate runs of ``day`` (UTC; default: today), replacing that day's rows."""
    day = day or dt.datetime.now(dt.timezone.utc).date()
    start = dt.datetime.combine(day, dt.time())
    end = start + dt.timedelta(days=1)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = []
    with warehouse.connect() as con:
        for entity in ENTITIES:
            ensure_tables(con, entity)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema.MARTS}")
        con.execute(f"CREATE TABLE IF NOT EXISTS {REPORT_TABLE} ({REPORT_COLUMNS})")
        window = {"s": start, "e": end}
        gate = {r[0]: r[1:] for r in con.execute(f"""
            select entity, count(*), sum(rows_in), sum(passed), sum(quarantined) from {GATE_LEDGER}
            where gated_at >= $s and gated_at < $e group by 1""", window).fetchall()}

        def top(table: str, stamp: str) -> dict[str, str]:
            out: dict[str, list[str]] = {}
            for entity, rule, field, n in con.execute(f"""
                    select entity, rule, coalesce(field, '-'), count(distinct _record_hash) as n from {table}
                    where {stamp} >= $s and {stamp} < $e group by 1, 2, 3 order by 1, n desc, 2, 3""",
                    window).fetchall():
                out.setdefault(entity, []).append(f"{rule}:{field} ({n})")
            return {e: ", ".join(v[:TOP]) for e, v in out.items()}

        failing, warned_rules = top(schema.QUARANTINE_TABLE, "quarantined_at"), top(WARNINGS_TABLE, "observed_at")
        warned = dict(con.execute(f"""select entity, count(distinct _record_hash) from {WARNINGS_TABLE}
            where observed_at >= $s and observed_at < $e group by 1""", window).fetchall())
        drift = dict(con.execute(f"""select entity, string_agg(distinct field, ', ' order by field) from {DRIFT_TABLE}
            where observed_at >= $s and observed_at < $e group by 1""", window).fetchall())
        for entity in ENTITIES:
            loads, rows_in, passed, quarantined = gate.get(entity.name, (0, 0, 0, 0))
            rows.append({
                "report_day": day, "entity": entity.name, "loads": int(loads), "rows_in": int(rows_in or 0),
                "passed": int(passed or 0), "quarantined": int(quarantined or 0),
                "pass_rate": round(passed / rows_in, 6) if rows_in else None,
                "warned_rows": int(warned.get(entity.name, 0)),
                "top_failing_rules": failing.get(entity.name), "top_warnings": warned_rules.get(entity.name),
                "unknown_fields": drift.get(entity.name), "generated_at": now,
            })
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM {REPORT_TABLE} WHERE report_day = ?", [day])
        con.executemany(f"INSERT INTO {REPORT_TABLE} VALUES ({', '.join('?' * 12)})",
                        [list(r.values()) for r in rows])
        con.execute("COMMIT")
    return rows


def to_markdown(rows: list[dict]) -> str:
    head = "| source | loads | rows | passed | quarantined | pass rate | warned | top failing rules | unknown fields |"
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        rate = "–" if r["pass_rate"] is None else f"{r['pass_rate']:.2%}"
        lines.append(f"| {r['entity']} | {r['loads']} | {r['rows_in']} | {r['passed']} | {r['quarantined']} | {rate} "
                     f"| {r['warned_rows']} | {r['top_failing_rules'] or '–'} | {r['unknown_fields'] or '–'} |")
    return "\n".join(lines)
