"""An independent scan for values: every table of a DuckDB file, every Parquet and text file under a folder,
every event of a Dagster instance. The leak test looks for all planted PII past raw; the privacy-operation
tests look for one person's values and tokens everywhere (raw included), or for old tokens after a rotation.

Names: a Chinese given name is 1-2 characters, so a two-character full name such as 王伟 also occurs
legitimately inside words of real texts; values shorter than 3 characters are therefore matched only as the
whole value of identity/display columns (name, nickname, handle, display, masked), every other value
(3+ characters) as a substring of every text scanned.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

IDENTITY_COLUMN = re.compile(r"name|nickname|handle|display|masked", re.I)
UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


class Needles:
    """``(kind, value)`` pairs to look for; ``find(text)`` lists the ones a text holds."""

    def __init__(self, pairs):
        self.long: dict[str, list[tuple[str, str]]] = {}
        self.short: dict[str, str] = {}
        for kind, value in pairs:
            value = str(value)
            if len(value) >= 3:
                self.long.setdefault(value[:3], []).append((kind, value))
            else:
                self.short[value] = kind
        self.values = sum(len(v) for v in self.long.values()) + len(self.short)

    def find(self, text: str) -> list[tuple[str, str]]:
        hits = []
        get = self.long.get
        for i in range(len(text) - 2):
            cands = get(text[i:i + 3])
            if cands:
                hits.extend((k, v) for k, v in cands if text.startswith(v, i))
        return hits


def scan_duckdb(path: Path, needles: Needles, skip_schemas=("raw",)) -> tuple[list, list]:
    """(hits, scanned): hits as (schema.table.column, kind, value); scanned as (name, rows)."""
    hits, scanned = [], []
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_schema not in (select unnest($s::varchar[]))",
                             {"s": list(skip_schemas)}).fetchall()
        for schema, table in tables:
            cols = [r[0] for r in con.execute(f'describe "{schema}"."{table}"').fetchall()]
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            scanned.append((f"{path.name}:{schema}.{table}", len(rows)))
            for row in rows:
                for col, value in zip(cols, row):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else str(value)
                    for h in needles.find(text):
                        hits.append((f"{schema}.{table}.{col}", *h))
                    if IDENTITY_COLUMN.search(col) and text in needles.short:
                        hits.append((f"{schema}.{table}.{col}", needles.short[text], text))
    return hits, scanned


def unescape(text: str) -> str:
    return UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def scan_files(folder: Path, needles: Needles, skip: set[Path] = frozenset()) -> tuple[list, list]:
    """Every DuckDB file (all schemas), Parquet file and other file (as text) under ``folder``."""
    hits, scanned = [], []
    skip = {p.resolve() for p in skip}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.resolve() not in skip):
        if path.suffix == ".duckdb":
            h, s = scan_duckdb(path, needles, skip_schemas=())
        elif path.suffix == ".parquet":
            with duckdb.connect() as con:
                rows = con.execute("select * from read_parquet(?)", [str(path)]).fetchall()
            h = [(str(path), *x) for row in rows for v in row if v is not None for x in needles.find(str(v))]
            s = [(str(path.relative_to(folder)), len(rows))]
        elif path.suffix == ".wal" or path.name.endswith(".duckdb.wal"):
            continue  # a DuckDB write-ahead log: read through its database file
        else:
            text = unescape(path.read_bytes().decode("utf-8", errors="ignore"))
            h = [(f"file:{path.relative_to(folder)}", *x) for x in needles.find(text)]
            s = [(str(path.relative_to(folder)), 1)]
        hits += h
        scanned += s
    return hits, scanned


def scan_instance(instance, needles: Needles) -> tuple[list, int]:
    """Every event of every run of a Dagster instance, and the runs' config and tags."""
    hits, events = [], 0
    for run in instance.get_runs():
        for record in instance.all_logs(run.run_id):
            events += 1
            text = unescape(str(record))
            hits += [(f"event:{record.dagster_event_type or 'log'}", *x) for x in needles.find(text)]
        hits += [("run config/tags", *x) for x in needles.find(str(run.run_config) + str(run.tags))]
    return hits, events
