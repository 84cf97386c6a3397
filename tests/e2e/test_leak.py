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

from pathlib import Path

import duckdb
import pytest

from tests.support.scan import Needles, scan_duckdb as _scan_duckdb, scan_instance, unescape as _unescape

pytestmark = pytest.mark.e2e


def test_no_planted_pii_past_raw(shared, capfd, caplog):
    # The session's daily and hourly runs, as the live data dir holds them after the hourly run.
    assert shared.daily.result.success and shared.hourly.result.success
    sim, workdir, instance = shared.sim, shared.live, shared.instance
    state = {"warehouse": workdir / "data" / "cem.duckdb", "home": shared.home}
    planted = sim.world.planted_pii()
    needles = Needles(zip(planted.kind, planted.value))
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
    h, events = scan_instance(instance, needles)
    hits += h
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
