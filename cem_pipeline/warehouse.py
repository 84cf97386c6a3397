"""DuckDB warehouse I/O: connections, raw tables and the load ledger.

Raw tables are append-only. Each row keeps the full source record as JSON, a content hash (so a
page served twice or a retried load never lands the same version twice), the load it came from and
the page cursor. The ledger records every load: started (committed on its own, so a crash leaves a
trace), then committed together with the rows it wrote.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from cem_pipeline import schema
from cem_pipeline.config import warehouse_lock_timeout
from cem_pipeline.sources.catalog import Entity

class WarehouseError(RuntimeError):
    pass


class Warehouse:
    """A DuckDB file. Connections are short-lived so dbt and other processes can take turns."""

    def __init__(self, path: str | Path, lock_timeout_s: float | None = None):
        self.path = Path(path)
        if lock_timeout_s is None:
            lock_timeout_s = warehouse_lock_timeout()
        self.lock_timeout_s = lock_timeout_s

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Open the file; while another process holds its write lock, wait (up to lock_timeout_s)."""
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise WarehouseError(
                        f"cannot open the warehouse {self.path}: {exc}. Another process holds it for writing "
                        f"(a running job or an open DuckDB shell) and did not let go within "
                        f"{self.lock_timeout_s:.0f} s; wait for it, close it, or raise CEM_WAREHOUSE_LOCK_TIMEOUT."
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._open(read_only)
        try:
            yield con
        finally:
            con.close()

    def ensure_raw(self, con: duckdb.DuckDBPyConnection, entity: Entity) -> str:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema.RAW}")
        table = schema.raw_table(entity.name)
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({schema.RAW_COLUMNS})")
        con.execute(f"CREATE TABLE IF NOT EXISTS {schema.LOAD_LEDGER} ({schema.LOAD_LEDGER_COLUMNS})")
        return table

    @staticmethod
    def last_cursor(con: duckdb.DuckDBPyConnection, entity: Entity) -> str | None:
        """The cursor the last committed load of ``entity`` reached."""
        row = con.execute(
            f"SELECT cursor_to FROM {schema.LOAD_LEDGER} WHERE entity = ? AND status = 'committed' "
            "ORDER BY finished_at DESC, load_id DESC LIMIT 1", [entity.name]).fetchone()
        return row[0] if row else None

    def table_exists(self, con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
        schema_name, table = qualified.split(".", 1)
        return con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema_name, table]).fetchone()[0] > 0

    def ledger(self, entity: str | None = None):
        """The load ledger as a DataFrame (newest first)."""
        with self.connect(read_only=True) as con:
            if not self.table_exists(con, schema.LOAD_LEDGER):
                return None
            where = "WHERE entity = ?" if entity else ""
            return con.execute(f"SELECT * FROM {schema.LOAD_LEDGER} {where} ORDER BY started_at DESC",
                               [entity] if entity else []).df()
