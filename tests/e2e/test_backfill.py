"""Backfill: a 7-day backfill of the marts, run twice, gives identical mart contents — and repairs
days that had gone wrong."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pytest

from tests.support.e2e import environment, failed_checks, run_job

pytestmark = pytest.mark.e2e
INCREMENTAL_MARTS = ("mart_nps_daily", "mart_csat_daily", "mart_ces_daily", "mart_journey_stage_daily")


def _marts(path) -> dict[str, list]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [t[0] for t in con.execute("select table_name from information_schema.tables "
                                            "where table_schema = 'marts' order by 1").fetchall()]
        return {t: sorted(map(repr, con.execute(f'select * from marts."{t}"').fetchall())) for t in tables
                if t != "quality_report"}


def _backfill(start: dt.date, end: dt.date):
    from definitions import defs

    config = {"ops": {"cem_dbt_models": {"config": {"backfill_start": str(start), "backfill_end": str(end)}}}}
    return defs.resolve_job_def("backfill_cx_marts").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), run_config=config, raise_on_error=False)


def test_seven_day_backfill_twice_is_identical_and_repairs_the_range(tmp_path, shared):
    # The session's state after its hourly run, on a private copy (the backfill rewrites marts); the simulator
    # has not moved since, so the hourly run below finds nothing new, as on a quiet hour.
    assert shared.hourly.result.success
    warehouse = tmp_path / "data" / "cem.duckdb"
    with environment(shared.private_copy(shared.hourly, tmp_path)):
        expected = _marts(warehouse)
        with duckdb.connect(str(warehouse)) as con:
            start = con.execute("select min(feedback_day) from marts.mart_nps_daily").fetchone()[0] + dt.timedelta(days=3)
            end = start + dt.timedelta(days=6)
            # Damage two days inside the range, leaving their fingerprints as they were: an incremental
            # run sees nothing to do there; only the backfill's day range rebuilds them from staging.
            con.execute("update marts.mart_nps_daily set n = -1 where feedback_day = ?", [start])
            con.execute("update marts.mart_csat_daily set n = -1 where feedback_day = ?", [end])
        damaged = _marts(warehouse)
        assert damaged != expected
        assert run_job("hourly_cx_refresh").success
        after_hourly = _marts(warehouse)
        assert after_hourly["mart_nps_daily"] == damaged["mart_nps_daily"], "control: incremental left the day alone"

        first = _backfill(start, end)
        assert first.success and failed_checks(first) == []
        after_first = _marts(warehouse)
        second = _backfill(start, end)
        assert second.success and failed_checks(second) == []
        after_second = _marts(warehouse)

    for mart in INCREMENTAL_MARTS:
        assert after_first[mart] == expected[mart], f"{mart} was not rebuilt to the truth by the backfill"
    assert after_second == after_first, "a second backfill of the same days changed the marts"


def test_a_half_specified_backfill_is_refused_with_a_clear_message():
    from assets.dbt import DbtBuildConfig, dbt_build_args

    with pytest.raises(dg.Failure, match="both backfill_start and backfill_end"):
        dbt_build_args(DbtBuildConfig(backfill_start="2026-09-01"), None)
    with pytest.raises(dg.Failure, match="after backfill_end"):
        dbt_build_args(DbtBuildConfig(backfill_start="2026-09-08", backfill_end="2026-09-01"), None)
    assert dbt_build_args(DbtBuildConfig(), "daily") == ["build", "--full-refresh"]
    args = dbt_build_args(DbtBuildConfig(backfill_start="2026-09-01", backfill_end="2026-09-07"), "backfill")
    assert args[:2] == ["build", "--vars"] and "2026-09-07" in args[2]
