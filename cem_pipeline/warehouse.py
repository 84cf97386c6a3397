"""DuckDB warehouse I/O: connections, raw tables and the load ledger.

Raw tables are append-only. Each row keeps the full source record as JSON, a content hash (so a
page served twice or a retried load never lands the same version twice), the load it came from and
the page cursor. The ledger records every load: started (committed on its own, so a crash leaves a
trace), then committed together with the rows it wrote.
"""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from cem_pipeline import schema
from cem_pipeline.config import warehouse_lock_timeout
from cem_pipeline.sources.catalog import Entity

class WarehouseError(RuntimeError):
    pass


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> tuple | None:
    """The first row of a query, or None; the result is fetched to its end, so the connection is free for the
    next statement (DuckDB refuses e.g. ``register`` while a result is unfinished)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception (then re-raised)."""
    con.execute("BEGIN")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether ``schema.table`` exists in the connection's database (temporary tables do not count)."""
    schema_name, table = qualified.split(".", 1)
    return first_row(con, "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ? "
                          "AND table_catalog = current_database()", [schema_name, table])[0] > 0


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

    def compact(self, finalize: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None) -> int:
        """Rewrite the file without the blocks of deleted rows (DuckDB reuses them but does not wipe them, so
        rows an erasure deleted stay readable in the file's bytes until then); returns the new size in bytes.

        Every schema, table, view and constraint is copied into a fresh file (``COPY FROM DATABASE``) while
        this process holds the write lock; ``finalize(con, catalog)`` may then write into the copy (the
        statement that marks the operation done, so a crash before the rename leaves it to be redone), and
        the copy is renamed over the file, atomically, before the lock is let go.
        """
        for stale in self.path.parent.glob(f".{self.path.name}.compact-*"):
            stale.unlink()
        tmp = self.path.with_name(f".{self.path.name}.compact-{uuid.uuid4().hex[:8]}")
        wal = Path(f"{self.path}.wal")
        with self.connect() as con:
            con.execute("CHECKPOINT")
            database = first_row(con, "SELECT current_database()")[0]
            con.execute(f"ATTACH '{tmp}' AS _compacted")
            try:
                con.execute(f'COPY FROM DATABASE "{database}" TO _compacted')
                if finalize:
                    finalize(con, "_compacted")
                con.execute("DETACH _compacted")
                if wal.exists():
                    raise WarehouseError(f"{wal} appeared while compacting {self.path}; the file was left as it was")
                os.replace(tmp, self.path)
            finally:
                for leftover in (tmp, Path(f"{tmp}.wal")):
                    leftover.unlink(missing_ok=True)
        wal.unlink(missing_ok=True)  # the old file's, had its connection written one on closing
        return self.path.stat().st_size

    def ensure_raw(self, con: duckdb.DuckDBPyConnection, entity: Entity) -> str:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema.RAW}")
        table = schema.raw_table(entity.name)
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({schema.RAW_COLUMNS})")
        con.execute(f"CREATE TABLE IF NOT EXISTS {schema.LOAD_LEDGER} ({schema.LOAD_LEDGER_COLUMNS})")
        for column, type_ in schema.LOAD_LEDGER_ADDED_COLUMNS:
            con.execute(f"ALTER TABLE {schema.LOAD_LEDGER} ADD COLUMN IF NOT EXISTS {column} {type_}")
        return table

    @staticmethod
    def last_cursor(con: duckdb.DuckDBPyConnection, entity: Entity) -> str | None:
        """The cursor the last committed load of ``entity`` reached."""
        row = con.execute(
            f"SELECT cursor_to FROM {schema.LOAD_LEDGER} WHERE entity = ? AND status = 'committed' "
            "ORDER BY finished_at DESC, load_id DESC LIMIT 1", [entity.name]).fetchone()
        return row[0] if row else None

    def table_exists(self, con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
        return table_exists(con, qualified)

    def ledger(self, entity: str | None = None):
        """The load ledger as a DataFrame (newest first)."""
        with self.connect(read_only=True) as con:
            if not self.table_exists(con, schema.LOAD_LEDGER):
                return None
            where = "WHERE entity = ?" if entity else ""
            return con.execute(f"SELECT * FROM {schema.LOAD_LEDGER} {where} ORDER BY started_at DESC",
                               [entity] if entity else []).df()
