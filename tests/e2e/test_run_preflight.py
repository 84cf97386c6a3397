"""A run checks its settings before it pulls anything, and says the demo-key notice once."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from assets.gates import masked_assets
from assets.resources import CemSettings
from cem_pipeline import schema

NOTICE = "CEM_PII_KEY is not set"


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ("CEM_PII_KEY", "CEM_ENV", "CEM_BI_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CEM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CEM_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    # Nothing listens here: a raw load that started would fail on the connection, not on the key.
    monkeypatch.setenv("CEM_SOURCE_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CEM_SOURCE_API_KEY", "k")
    return tmp_path


def _messages(instance, run_id) -> list[str]:
    return [e.user_message or "" for e in instance.all_logs(run_id)] + [
        str(e.dagster_event.event_specific_data) for e in instance.all_logs(run_id)
        if e.dagster_event is not None and e.dagster_event.is_failure]


def test_production_without_pii_key_fails_before_any_raw_load(env, monkeypatch):
    from definitions import defs

    monkeypatch.setenv("CEM_ENV", "production")
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("hourly_cx_refresh").execute_in_process(instance=instance, raise_on_error=False)
        messages = _messages(instance, result.run_id)
    assert not result.success
    assert any("CEM_PII_KEY" in m and "production" in m for m in messages)
    assert not any("Connection refused" in m or "ConnectionError" in m for m in messages), "a raw load started"
    started = [e for e in result.all_events if e.is_step_start]
    assert started == [], f"steps ran: {[e.step_key for e in started]}"
    path = env / "w.duckdb"
    if path.exists():
        with duckdb.connect(str(path), read_only=True) as con:
            tables = {t for (t,) in con.execute("select table_schema || '.' || table_name from information_schema.tables")
                      .fetchall()}
            assert schema.LOAD_LEDGER not in tables or con.execute(f"select count(*) from {schema.LOAD_LEDGER}").fetchone()[0] == 0


def test_demo_key_notice_is_logged_once_per_run(env):
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(masked_assets, resources={"cem": CemSettings()}, instance=instance)
        notices = [e for e in instance.all_logs(result.run_id) if NOTICE in (e.user_message or "")]
    assert result.success
    assert len(masked_assets) == 8 and len(notices) == 1
    assert (env / ".pii_key").exists()
