"""The BI file: only published tables, dbt descriptions as comments, replaced atomically."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb

from cem_pipeline.publish import publish
from cem_pipeline.warehouse import Warehouse


def _warehouse(path, nps_rows: int) -> Warehouse:
    with duckdb.connect(str(path)) as con:
        for s in ("raw", "masked", "quarantine", "staging", "marts"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        con.execute("CREATE OR REPLACE TABLE raw.surveys AS SELECT '13800138000' AS phone")
        con.execute("CREATE OR REPLACE TABLE masked.surveys AS SELECT 'phone:abc' AS phone_token")
        con.execute("CREATE OR REPLACE TABLE staging.stg_x AS SELECT 1 AS x")
        con.execute(f"CREATE OR REPLACE TABLE marts.mart_nps_daily AS SELECT range AS n, 'app' AS channel "
                    f"FROM range({nps_rows})")
    return Warehouse(path)


def _manifest(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"nodes": {"model.cem.mart_nps_daily": {
        "resource_type": "model", "name": "mart_nps_daily", "description": "NPS per day",
        "columns": {"n": {"description": "responses"}, "gone": {"description": "not in the table"}}}}}))
    return path


def _count_in_subprocess(path) -> int:
    code = (f"import duckdb; c = duckdb.connect({str(path)!r}, read_only=True); "
            "print(c.execute('select count(*) from marts.mart_nps_daily').fetchone()[0])")
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def test_bi_file_holds_only_published_tables_with_comments(tmp_path):
    wh = _warehouse(tmp_path / "wh.duckdb", 5)
    result = publish(wh, tmp_path / "bi" / "cem_bi.duckdb", tmp_path / "bi" / "parquet", _manifest(tmp_path))
    assert result.tables == {"marts.mart_nps_daily": 5}
    with duckdb.connect(str(result.bi_file), read_only=True) as con:
        schemas = {r[0] for r in con.execute("select distinct table_schema from information_schema.tables").fetchall()}
        assert schemas == {"marts"}
        comment = con.execute("select comment from duckdb_columns() where table_name = 'mart_nps_daily' "
                              "and column_name = 'n'").fetchone()[0]
        assert comment == "responses"
        assert con.execute("select comment from duckdb_tables() where table_name = 'mart_nps_daily'"
                           ).fetchone()[0] == "NPS per day"
    assert (tmp_path / "bi" / "parquet" / "mart_nps_daily.parquet").exists()
    assert not list((tmp_path / "bi").glob(".*tmp*")), "temporary files left behind"


def test_republish_is_atomic_while_a_reader_has_the_file_open(tmp_path):
    bi = tmp_path / "bi" / "cem_bi.duckdb"
    publish(_warehouse(tmp_path / "wh.duckdb", 5), bi, tmp_path / "bi" / "parquet")
    reader = duckdb.connect(str(bi), read_only=True)
    try:
        assert reader.execute("select count(*) from marts.mart_nps_daily").fetchone()[0] == 5
        publish(_warehouse(tmp_path / "wh.duckdb", 9), bi, tmp_path / "bi" / "parquet")
        # The open reader still sees its complete old file; a new reader sees the complete new one.
        assert reader.execute("select count(*) from marts.mart_nps_daily").fetchone()[0] == 5
        assert _count_in_subprocess(bi) == 9
    finally:
        reader.close()
