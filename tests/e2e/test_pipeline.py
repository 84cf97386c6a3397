"""End to end: the real Dagster graph (raw -> gates -> dbt staging -> marts) against the simulator,
checked against the simulator's ground truth, then an hourly increment (the session's shared runs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cem_pipeline import schema

from cem_pipeline.sources.catalog import ENTITIES
from tests.support.e2e import STAGING_OF, failed_checks, nps_by_day_channel, query, truth_nps

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pipeline(shared):
    """The session's daily run, then its hourly run (tests/support/shared_pipeline.py)."""
    return {"sim": shared.sim, "warehouse": shared.daily.warehouse, "first": shared.daily.result,
            "first_now": shared.daily.now, "hourly": shared.hourly}


def _visible_ids(sim, entity: str, now: int) -> set[str]:
    table = sim.world.tables[entity]
    idx, _, _ = table.visible_current(now)
    return set(table.ids[idx].tolist())


def test_first_run_materializes_every_asset_and_passes_every_check(pipeline):
    result = pipeline["first"]
    assert result.success, "the daily job failed"
    from definitions import defs

    expected = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()
                if not k.to_user_string().startswith("sentiment")}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert expected <= materialized, f"not materialized: {sorted(expected - materialized)}"
    assert failed_checks(result) == []


def test_every_record_served_reaches_staging_exactly_once(pipeline):
    sim, warehouse = pipeline["sim"], pipeline["warehouse"]
    quarantined = set(query(warehouse, "select entity || ':' || coalesce(record_id, '') as k "
                                       "from quarantine.quarantined_records")["k"])
    for entity in ENTITIES:
        model, key = STAGING_OF[entity.name]
        staged = query(warehouse, f"select {key} as id, count(*) over (partition by {key}) as c from staging.{model}")
        assert (staged["c"] == 1).all(), f"{model} has duplicate {key}"
        truth = _visible_ids(sim, entity.name, pipeline["first_now"])
        if entity.name == "crm_members":  # the member id is tokenized past raw: compare counts
            assert len(staged) == len(truth)
            continue
        missing = truth - set(staged["id"]) - {k.split(":", 1)[1] for k in quarantined if k.startswith(entity.name)}
        assert not missing, f"{entity.name}: {len(missing)} served records neither staged nor quarantined"
        assert set(staged["id"]) <= truth, f"{entity.name}: staging holds records the source never served"


def test_nps_mart_equals_ground_truth_for_every_day_and_channel(pipeline):
    mart = nps_by_day_channel(pipeline["warehouse"])
    truth = truth_nps(pipeline["sim"], pipeline["first_now"]).reset_index(drop=True)
    mart["day"] = pd.to_datetime(mart["day"]).dt.date
    assert len(mart) == len(truth) > 20
    merged = truth.merge(mart, on=["day", "channel"], suffixes=("_truth", "_mart"), how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    for col in ("n", "promoters", "detractors"):
        assert (merged[f"{col}_truth"] == merged[f"{col}_mart"]).all(), col
    assert np.allclose(merged["nps_truth"], merged["nps_mart"], atol=1e-3)


def test_margin_of_error_and_small_n_follow_the_definition(pipeline):
    mart = query(pipeline["warehouse"], "select * from marts.mart_nps_daily")
    p, d, n = mart.promoters / mart.n, mart.detractors / mart.n, mart.n
    expected = 1.96 * 100 * np.sqrt((p * (1 - p) + d * (1 - d) + 2 * p * d) / n)
    assert np.allclose(mart.nps_margin_of_error.astype(float), expected, atol=1e-3)
    assert (mart.small_n == (mart.n < 30)).all()


def test_hourly_run_adds_exactly_the_new_records(pipeline):
    sim, before, hourly = pipeline["sim"], pipeline["warehouse"], pipeline["hourly"]
    before_now, warehouse = pipeline["first_now"], hourly.warehouse
    assert hourly.now > before_now
    raw_before = {e.name: int(query(before, f"select count(*) as c from raw.{e.name}")["c"][0]) for e in ENTITIES}
    result = hourly.result
    assert result.success
    assert failed_checks(result) == []
    for entity in ENTITIES:
        table = sim.world.tables[entity.name]
        idx, cur, _ = table.visible_current(hourly.now)
        changed = int((cur > before_now).sum())
        raw_after = int(query(warehouse, f"select count(*) as c from raw.{entity.name}")["c"][0])
        assert raw_after - raw_before[entity.name] == changed, entity.name
    assert sum(int((t.visible_current(hourly.now)[1] > before_now).sum()) for t in sim.world.tables.values()) > 0
    # Staging holds each record once, at its latest version, and the mart follows the truth.
    staged = query(warehouse, "select count(*) as c, count(distinct response_id) as d from staging.stg_surveys__responses")
    assert staged.c[0] == staged.d[0] == len(_visible_ids(sim, "surveys", hourly.now))
    mart = nps_by_day_channel(warehouse)
    truth = truth_nps(sim, hourly.now)
    assert int(mart.n.sum()) == int(truth.n.sum())
    assert int(mart.promoters.sum()) == int(truth.promoters.sum())


def test_bi_file_is_published_after_the_marts(pipeline):
    import duckdb

    bi = pipeline["hourly"].bi_file  # republished by the hourly run
    with duckdb.connect(str(bi), read_only=True) as con:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        assert {"marts.mart_nps_daily", "marts.fct_feedback"} <= tables
        assert all(t.split(".")[0] in schema.PUBLISHED_SCHEMAS for t in tables), tables  # marts, analytics
        mart_rows = con.execute("select count(*) from marts.mart_nps_daily").fetchone()[0]
    assert mart_rows == len(query(pipeline["hourly"].warehouse, "select * from marts.mart_nps_daily"))


def test_dbt_models_report_their_row_counts_to_the_ui(pipeline):
    observed = {}
    for event in pipeline["first"].all_events:
        if event.event_type_value == "ASSET_OBSERVATION":
            obs = event.event_specific_data.asset_observation
            if "dagster/row_count" in obs.metadata:
                observed[obs.asset_key.to_user_string()] = obs.metadata["dagster/row_count"].value
    # Counted after the first run's dbt build: staging then held exactly the surveys visible at that time.
    surveys = len(_visible_ids(pipeline["sim"], "surveys", pipeline["first_now"]))
    assert observed.get("stg_surveys__responses") == surveys > 0
    assert observed.get("mart_nps_daily", 0) > 0
    assert {"fct_feedback", "dim_customer_360"} <= set(observed)


def test_the_publication_shows_nps_with_its_margin_in_the_ui(pipeline):
    shown = [m.materialization.metadata["nps_last_7_days"].value
             for m in pipeline["first"].get_asset_materialization_events()
             if m.asset_key.to_user_string() == "bi_publication"]
    assert shown and "95% MoE" in shown[0] and "app" in shown[0]
