"""Publish the marts for BI tools: a separate, read-only DuckDB file and Parquet files per table.

The BI file holds only the published schema (``marts``) — never raw, quarantine or masked tables. It
is written to a temporary file beside the target and atomically renamed over it, so a BI tool that
has the old file open keeps reading a complete old file and the next open sees a complete new one.
Column comments carry the dbt descriptions.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from cem_pipeline import schema
from cem_pipeline.warehouse import Warehouse


BI_STORAGE_VERSION = "v1.0.0"  # the DuckDB storage format of the BI file (readable by DuckDB >= 1.0)


@dataclass
class PublishResult:
    bi_file: Path
    parquet_dir: Path
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows
    duration_s: float = 0.0


def dbt_descriptions(manifest_path: Path | None) -> dict[str, dict]:
    """{model name: {"description": ..., "columns": {column: description}}} from a dbt manifest."""
    if not manifest_path or not Path(manifest_path).exists():
        return {}
    manifest = json.loads(Path(manifest_path).read_text())
    out = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") in ("model", "seed"):
            out[node["name"]] = {
                "description": node.get("description") or "",
                "columns": {c: (v.get("description") or "") for c, v in node.get("columns", {}).items()},
            }
    return out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def publish(warehouse: Warehouse, bi_file: Path, parquet_dir: Path, manifest_path: Path | None = None,
            schemas: tuple[str, ...] = schema.PUBLISHED_SCHEMAS) -> PublishResult:
    started = time.perf_counter()
    bi_file, parquet_dir = Path(bi_file), Path(parquet_dir)
    bi_file.parent.mkdir(parents=True, exist_ok=True)
    parquet_dir.mkdir(parents=True, exist_ok=True)
    tmp = bi_file.with_name(f".{bi_file.name}.{uuid.uuid4().hex[:8]}.tmp")
    docs = dbt_descriptions(manifest_path)
    result = PublishResult(bi_file, parquet_dir)
    try:
        with duckdb.connect() as con:
            con.execute(f"ATTACH {_quote(str(warehouse.path))} AS wh (READ_ONLY)")
            tables = con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'wh' AND "
                f"table_schema IN ({', '.join(_quote(s) for s in schemas)}) AND table_type = 'BASE TABLE' "
                "ORDER BY 1, 2").fetchall()
            # BI tools embed their own DuckDB (Evidence's Node driver is 1.4.x): write the storage format
            # every DuckDB >= 1.0 reads, not this library's newest one.
            con.execute(f"ATTACH {_quote(str(tmp))} AS bi (STORAGE_VERSION {_quote(BI_STORAGE_VERSION)})")
            try:
                for schema_name, table in tables:
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS bi.{schema_name}")
                    con.execute(f'CREATE TABLE bi.{schema_name}."{table}" AS SELECT * FROM wh.{schema_name}."{table}"')
                    rows = con.execute(f'SELECT count(*) FROM bi.{schema_name}."{table}"').fetchone()[0]
                    result.tables[f"{schema_name}.{table}"] = rows
                    doc = docs.get(table)
                    if doc:
                        if doc["description"]:
                            con.execute(f'COMMENT ON TABLE bi.{schema_name}."{table}" IS {_quote(doc["description"])}')
                        existing = {r[0] for r in con.execute(
                            "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'bi' "
                            "AND table_schema = ? AND table_name = ?", [schema_name, table]).fetchall()}
                        for column, text in doc["columns"].items():
                            if text and column in existing:
                                con.execute(f'COMMENT ON COLUMN bi.{schema_name}."{table}"."{column}" IS {_quote(text)}')
                    target = parquet_dir / f"{table}.parquet"
                    part = target.with_name(f".{target.name}.tmp")
                    con.execute(f"COPY (SELECT * FROM bi.{schema_name}.\"{table}\") TO {_quote(str(part))} "
                                "(FORMAT parquet)")
                    os.replace(part, target)
            finally:
                con.execute("DETACH bi")
                con.execute("DETACH wh")
        os.replace(tmp, bi_file)  # atomic on POSIX: readers see the old file or the new one, whole
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
    result.duration_s = round(time.perf_counter() - started, 3)
    return result
