"""The leak test: after a full daily run and an hourly one, no PII value the simulator planted is readable anywhere past
raw: not in any table of any warehouse schema but ``raw``, not in any other DuckDB/Parquet file under
the data dir (e.g. a published BI file), not in the Dagster event log / run metadata, not in the
compute logs, not in what the run printed.

Values scanned: ``world.planted_pii()``, every kind in every format it may have been served in
(phones in 8 formats, e-mails in 4, WeChat ids, social handles, nicknames, names, and the phones /
e-mails planted inside texts). Names: a Chinese given name is 1-2 characters, so a two-character full
name such as 王伟 also occurs legitimately inside words of real reviews; names shorter than 3
characters are therefore matched only as the whole value of identity/display columns (name,
nickname, handle, display, masked), every other value (3+ characters) is matched as a substring of
every text scanned.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest


pytestmark = pytest.mark.e2e

IDENTITY_COLUMN = re.compile(r"name|nickname|handle|display|masked", re.I)
UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


class Needles:
    def __init__(self, planted):
        self.long: dict[str, list[tuple[str, str]]] = {}
        self.short: dict[str, str] = {}
        for kind, value in zip(planted.kind, planted.value):
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


def _scan_duckdb(path: Path, needles: Needles, skip_schemas=("raw",)) -> tuple[list, list]:
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


def _unescape(text: str) -> str:
    return UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def test_no_planted_pii_past_raw(shared, capfd, caplog):
    # The session's daily and hourly runs, as the live data dir holds them after the hourly run.
    assert shared.daily.result.success and shared.hourly.result.success
    sim, workdir, instance = shared.sim, shared.live, shared.instance
    state = {"warehouse": workdir / "data" / "cem.duckdb", "home": shared.home}
    planted = sim.world.planted_pii()
    needles = Needles(planted)
    hits, scanned = [], []

    # 1. The warehouse, every schema but raw.
    h, s = _scan_duckdb(state["warehouse"], needles)
    hits += h
    scanned += s
    # Sanity: the scanner does find the PII in raw.
    raw_hits, _ = _scan_duckdb(state["warehouse"], needles,
                               skip_schemas=["quarantine", "masked", "staging", "intermediate", "marts", "main",
                                             "ml", "seeds"])
    assert raw_hits, "the scanner found no PII even in raw: the scan is broken"

    # 2. Any other DuckDB / Parquet file under the data dir (published BI files, exports).
    data_dir = workdir / "data"
    for path in sorted(data_dir.rglob("*.duckdb")):
        if path.resolve() == state["warehouse"].resolve():
            continue
        h, s = _scan_duckdb(path, needles, skip_schemas=())
        hits += h
        scanned += s
    for path in sorted(data_dir.rglob("*.parquet")):
        with duckdb.connect() as con:
            rows = con.execute("select * from read_parquet(?)", [str(path)]).fetchall()
        scanned.append((str(path.relative_to(workdir)), len(rows)))
        hits += [(str(path), *x) for row in rows for v in row if v is not None for x in needles.find(str(v))]

    # 3. The Dagster event log and run metadata: every event of every run, as text.
    events = 0
    for run in instance.get_runs():
        for record in instance.all_logs(run.run_id):
            events += 1
            text = _unescape(str(record))
            hits += [(f"event:{record.dagster_event_type or 'log'}", *x) for x in needles.find(text)]
        hits += [("run config/tags", *x) for x in needles.find(str(run.run_config) + str(run.tags))]
    scanned.append(("dagster event log", events))

    # 4. Everything under DAGSTER_HOME (compute logs, storage) and what the run printed.
    files = 0
    for path in state["home"].rglob("*"):
        if path.is_file():
            files += 1
            text = _unescape(path.read_bytes().decode("utf-8", errors="ignore"))
            hits += [(f"file:{path.relative_to(state['home'])}", *x) for x in needles.find(text)]
    scanned.append(("files under DAGSTER_HOME", files))
    out, err = capfd.readouterr()
    printed = out + err + caplog.text
    hits += [("stdout/stderr/logging", *x) for x in needles.find(_unescape(printed))]
    scanned.append(("captured output chars", len(printed)))

    total_rows = sum(n for _, n in scanned)
    with capfd.disabled():
        print(f"\nleak scan: {needles.values} planted values ({planted.kind.value_counts().to_dict()}); "
              f"{len(scanned)} scanned items, {total_rows} rows/events/files")
        for name, n in scanned:
            print(f"  {name}: {n}")
        print(f"  hits: {len(hits)}")
        for h in hits[:20]:
            print("   ", h)
    assert hits == [], f"{len(hits)} planted PII values found past raw, e.g. {hits[:5]}"
