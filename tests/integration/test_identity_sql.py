"""The identity SQL models held to the reference resolver (tests/support/identity_reference.py, the rules in
pandas): dbt builds int_identity__resolution and int_identity__key_map over an evidence table written
straight into a warehouse, and they must give the reference's components (as partitions of the records), its
match_rule per record and its customer keys, run after run. The evidence is the simulator's world tokenized
as the privacy gate does (bench/identity.py), and small tables with a known answer. On DuckDB always; on
Spark (dbt-spark in this process, the test run's one SparkSession) when pyspark is installed."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from bench.identity import KEY, load_evidence, run_sql_models, world_evidence
from cem_pipeline.privacy import Tokenizer
from cem_pipeline.simulator.world import World
from tests.support.identity import (EVIDENCE_COLUMNS, assert_shop_and_family_resolved, chain_evidence,
                                    key_map_rows, resolution_differences, shop_and_family_evidence)
from tests.support.identity_reference import assign_keys, resolve


@pytest.fixture(scope="module")
def evidence() -> pd.DataFrame:
    world = World(seed=3, customers=3000)
    return world_evidence(world, world.initial_now, Tokenizer(KEY))[0][EVIDENCE_COLUMNS]


@pytest.fixture(scope="module")
def dbt_dir(tmp_path_factory):
    """dbt's target and logs, shared by the module's dbt calls (a call with the same vars skips the parse)."""
    return tmp_path_factory.mktemp("dbt")


def _build(tmp_path, dbt_dir, evidence: pd.DataFrame, **dbt_vars) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(resolution, key map, rounds) after dbt runs the models over ``evidence`` (the warehouse in tmp_path
    persists, so the key map is incremental across calls)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    warehouse = tmp_path / "identity.duckdb"
    load_evidence(warehouse, evidence)
    _, _, rounds = run_sql_models(warehouse, dbt_dir, **dbt_vars)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return (con.execute("select * from intermediate.int_identity__resolution").df(),
                con.execute("select * from intermediate.int_identity__key_map").df(), rounds)


@pytest.mark.parametrize("cap, weak", [(6, True), (2, False)])
def test_the_simulated_world_resolves_as_the_reference(tmp_path, dbt_dir, evidence, cap, weak):
    sql, key_map, _ = _build(tmp_path, dbt_dir, evidence, identity_max_anchors_per_token=cap,
                             identity_weak_evidence=weak)
    reference = resolve(evidence, max_anchors_per_token=cap, weak_evidence=weak)
    assert resolution_differences(sql, reference) == []
    assert set(sql.match_rule.dropna()) >= {"anchor", "customer_id", "member", "order", "contact_unique"}
    assert ("weak_unique" in set(sql.match_rule)) == weak
    assert key_map_rows(key_map) == key_map_rows(assign_keys(reference, None))


def test_small_graphs_with_a_known_answer(tmp_path, dbt_dir):
    # The shop e-mail and family phone weld nobody, with the over-merge cap below and above the e-mail's
    # eight holders. A path of 2,001 anchors with the smallest id mid-way is one component in a few rounds
    # (plain min-label propagation needs hundreds); the round cap fails with the var to raise.
    graphs = pd.concat([shop_and_family_evidence(), chain_evidence(1000)], ignore_index=True)
    for cap in (3, 100):
        sql, _, rounds = _build(tmp_path / str(cap), dbt_dir, graphs, identity_max_anchors_per_token=cap)
        assert_shop_and_family_resolved(sql)
        chain = sql[sql.record_id.str.match(r"^[CM]\d{6}$")]
        assert chain.component.nunique() == 1 and len(chain) == 2001
        assert int(rounds.split()[2]) <= 16, rounds
    with pytest.raises(RuntimeError, match="raise var identity_max_rounds"):
        _build(tmp_path / "capped", dbt_dir, graphs, identity_max_rounds=3)


def _next_day(evidence: pd.DataFrame, first: pd.DataFrame) -> pd.DataFrame:
    """The evidence of a later run: two customers become one (a duplicate registration with the other's name
    and phone), members lose the customer id that tied them to a customer (their customer splits off), and
    three new customers arrive."""
    anchors = first[first.is_anchor]
    size = anchors.groupby("component").size()
    customer = evidence[evidence.entity == "crm_customers"]
    has = customer.pivot_table(index="record_id", columns="kind", values="token", aggfunc="min")
    alone = has.dropna(subset=["name", "phone"]).index.intersection(
        anchors[anchors.component.isin(size[size == 1].index)].record_id)
    a, b = alone[0], alone[1]
    same = customer[(customer.record_id == b) & customer.kind.isin(["name", "phone"])].index
    out = evidence.copy()
    out.loc[same, "token"] = [has.loc[a, k] for k in out.loc[same, "kind"]]
    pairs = size[size == 2].index[:20]
    members = anchors[anchors.component.isin(pairs) & (anchors.entity == "crm_members")].record_id
    out = out[~((out.entity == "crm_members") & (out.kind == "customer_id") & out.record_id.isin(members))]
    new = pd.DataFrame([("crm_customers", f"NEW{i}", "self", f"NEW{i}") for i in range(3)], columns=EVIDENCE_COLUMNS)
    return pd.concat([out, new], ignore_index=True)


def test_customer_keys_across_runs_with_a_merge_and_a_split_are_the_reference_keys(tmp_path, dbt_dir, evidence):
    first = resolve(evidence)
    later = _next_day(evidence, first)
    second = resolve(later)
    history = assign_keys(first, None)
    changes = assign_keys(second, history)
    assert {"merged", "split", "new"} <= set(changes.reason)  # the day has all three (guards the fixture)
    _build(tmp_path, dbt_dir, evidence)
    sql, key_map, _ = _build(tmp_path, dbt_dir, later)
    assert resolution_differences(sql, second) == []
    assert key_map_rows(key_map) == key_map_rows(pd.concat([history, changes]))
    _, again, _ = _build(tmp_path, dbt_dir, later)  # nothing changed: nothing appended
    assert len(again) == len(key_map)


# --- Spark ------------------------------------------------------------------------------------------------

IDENTITY_TABLES = ("int_identity__evidence", "int_identity__resolution", "int_identity__key_map")


def _build_on_spark(spark, tmp_path, evidence: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two models built by dbt-spark in this process over ``evidence``; the test run's session is
    shared, so the tables are dropped before (the key map is incremental) and after."""
    from dbt.cli.main import dbtRunner

    from assets.dbt import DBT_PROJECT_DIR

    def drop():
        for table in IDENTITY_TABLES:
            spark.sql(f"drop table if exists intermediate.{table}")

    drop()
    try:
        folder = tmp_path / "int_identity__evidence"  # an external Parquet table: no pandas -> Spark conversion
        folder.mkdir()
        evidence.to_parquet(folder / "part-0.parquet", index=False)
        spark.sql("create database if not exists intermediate")
        spark.sql(f"create table intermediate.int_identity__evidence using parquet location '{folder}'")
        result = dbtRunner().invoke([
            "run", "--select", "int_identity__resolution", "int_identity__key_map", "--target", "spark",
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")])
        assert result.success, result.exception or [r.message for r in result.result or []]
        return tuple(spark.sql(f"select * from intermediate.{t}").toPandas() for t in IDENTITY_TABLES[1:])
    finally:
        drop()


def test_spark_resolves_and_keys_as_the_reference(spark, tmp_path, evidence):
    # The guards' table and the world, in one graph (ids do not collide). Spark's time here is per statement,
    # hardly per row; the rounds' SQL is the same whatever the graph (a long path would only add rounds).
    mixed = pd.concat([shop_and_family_evidence(), evidence], ignore_index=True)
    sql, key_map = _build_on_spark(spark, tmp_path, mixed)
    reference = resolve(mixed)
    assert resolution_differences(sql, reference) == []
    assert set(sql.match_rule.dropna()) == {"anchor", "customer_id", "member", "order", "contact_unique", "weak_unique"}
    assert_shop_and_family_resolved(sql)
    assert key_map_rows(key_map) == key_map_rows(assign_keys(reference, None))
