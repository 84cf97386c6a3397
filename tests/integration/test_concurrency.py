"""Two writers on one DuckDB file: the second waits for the first, or is refused cleanly."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from cem_pipeline.ingest import ingest_all
from cem_pipeline.warehouse import Warehouse, WarehouseError

HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE IF NOT EXISTS held (x INT)")
con.execute("BEGIN TRANSACTION")
con.execute("INSERT INTO held VALUES (1)")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
"""


def _hold(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_second_writer_waits_for_the_first_and_then_lands_everything(tmp_path, simulator, settings_for):
    settings = settings_for(simulator, tmp_path)
    holder = _hold(settings.warehouse_path, 2.0)
    started = time.monotonic()
    results = ingest_all(settings, warehouse=Warehouse(settings.warehouse_path, lock_timeout_s=60))
    waited = time.monotonic() - started
    holder.wait(timeout=30)
    assert waited >= 1.0, "the second writer did not wait for the lock"
    assert all(r.rows_written == r.records_served for r in results)
    with Warehouse(settings.warehouse_path).connect(read_only=True) as con:
        assert con.execute("select count(*) from held").fetchone()[0] == 1  # the first writer's work is intact


def test_second_writer_is_refused_cleanly_after_its_timeout(tmp_path, simulator, settings_for):
    settings = settings_for(simulator, tmp_path)
    holder = _hold(settings.warehouse_path, 5.0)
    try:
        with pytest.raises(WarehouseError, match="CEM_WAREHOUSE_LOCK_TIMEOUT"):
            ingest_all(settings, warehouse=Warehouse(settings.warehouse_path, lock_timeout_s=0.5))
    finally:
        holder.wait(timeout=30)
    # Nothing half-written: a later run lands everything.
    results = ingest_all(settings)
    assert sum(r.rows_written for r in results) == sum(r.records_served for r in results) > 0
