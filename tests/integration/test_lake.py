"""The Spark engine's storage (cem_pipeline.lake): raw landing into per-load Parquet partitions with the
ledger as commit log, and the gates on the executors, give exactly what the DuckDB engine gives from the
same source; a load killed in the middle loses nothing and doubles nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from cem_pipeline import schema
from cem_pipeline.gates import gate_entity
from cem_pipeline.ingest import ingest_entity
from cem_pipeline.lake import Lake
from cem_pipeline.privacy import Tokenizer
from cem_pipeline.sources.catalog import entity
from cem_pipeline.sources.client import SourceClient
from cem_pipeline.warehouse import Warehouse

KEY = "lake-test-key-0123456789abcdef0123456789"
# Faults on: bad rows to quarantine, duplicates served twice, a reused id with new content.
ENTITIES = ("surveys", "crm_customers")


def _duck(settings, name: str, sql: str) -> pd.DataFrame:
    with Warehouse(settings.warehouse_path).connect(read_only=True) as con:
        return con.execute(sql).df()


def _sorted(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    df = df[columns].astype(object).where(df[columns].notna(), None)
    return df.sort_values(columns, key=lambda c: c.astype(str)).reset_index(drop=True)


def _lake(spark, tmp_path) -> Lake:
    return Lake(spark, str(tmp_path / "lake"))


@pytest.mark.parametrize("name", ENTITIES)
def test_spark_lands_and_gates_what_duckdb_does(spark, make_simulator, settings_for, tmp_path, name):
    sim = make_simulator(seed=11, customers=120)
    settings = settings_for(sim, tmp_path, page_size=40)
    ent = entity(name)
    client = lambda: SourceClient(settings.source(ent.system), settings.http)  # noqa: E731
    duck_load = ingest_entity(Warehouse(settings.warehouse_path), client(), ent)
    lake = _lake(spark, tmp_path)
    lake_load = lake.land(client(), ent)
    assert (lake_load.records_served, lake_load.rows_written, lake_load.cursor_to) == \
           (duck_load.records_served, duck_load.rows_written, duck_load.cursor_to)
    assert lake_load.duplicates_skipped == duck_load.duplicates_skipped

    raw_cols = ["record_id", "source_updated_at", "_record_hash", "_page_no", "_row_no"]
    duck_raw = _duck(settings, name, f"SELECT * FROM {schema.raw_table(name)}")
    assert _sorted(lake.raw_rows(name).toPandas(), raw_cols).equals(_sorted(duck_raw, raw_cols))

    duck_gate = gate_entity(Warehouse(settings.warehouse_path), ent, Tokenizer(KEY))
    lake_gate = lake.gate(ent, KEY)
    assert (lake_gate.rows_in, lake_gate.passed, lake_gate.quarantined) == \
           (duck_gate.rows_in, duck_gate.passed, duck_gate.quarantined)
    assert lake_gate.rows_in == lake_load.rows_written  # every raw row passed or is quarantined
    assert (lake_gate.rules, lake_gate.warnings, lake_gate.redactions, lake_gate.unknown_fields) == \
           (duck_gate.rules, duck_gate.warnings, duck_gate.redactions, duck_gate.unknown_fields)

    masked_cols = ["record_id", "source_updated_at", "_record", "_record_hash"]
    duck_masked = _duck(settings, name, f"SELECT *, _record::VARCHAR AS _record FROM {schema.masked_table(name)}")
    lake_masked = lake.read(schema.masked_table(name)).toPandas()
    assert len(lake_masked) == lake_gate.passed
    assert _sorted(lake_masked, masked_cols).equals(_sorted(duck_masked, masked_cols))
    q_cols = ["record_id", "_record_hash", "rule", "field", "value_masked"]
    duck_q = _duck(settings, name, f"SELECT * FROM {schema.QUARANTINE_TABLE} WHERE entity = '{name}'")
    if len(duck_q):
        lake_q = lake.read(schema.QUARANTINE_TABLE).toPandas()
        assert _sorted(lake_q[lake_q.entity == name], q_cols).equals(_sorted(duck_q, q_cols))

    # A second pass gates nothing again, and an increment lands only what changed.
    assert lake.gate(ent, KEY).loads == []
    again = lake.land(client(), ent)
    assert again.rows_written == 0 and again.cursor_from == lake_load.cursor_to


def test_a_load_killed_in_the_middle_loses_nothing_on_spark(spark, make_simulator, settings_for, tmp_path):
    sim = make_simulator(seed=12, customers=120)
    settings = settings_for(sim, tmp_path, page_size=25)
    ent = entity("crm_orders")
    client = lambda: SourceClient(settings.source(ent.system), settings.http)  # noqa: E731
    lake = _lake(spark, tmp_path)
    pages = []

    def die_on_third_page(page):
        pages.append(page)
        if len(pages) == 3:
            raise KeyboardInterrupt("killed")  # as a killed worker: no cleanup code runs past this point

    with pytest.raises(KeyboardInterrupt):
        lake.land(client(), ent, on_page=die_on_third_page, flush_rows=25)  # two pages already on disk
    ledger = lake.ledger(ent.name)
    assert list(ledger.status) == ["started"] and lake.raw_rows(ent.name) is None  # nothing visible

    done = lake.land(client(), ent)
    ledger = lake.ledger(ent.name)
    assert sorted(ledger.status) == ["abandoned", "committed"]
    rows = lake.raw_rows(ent.name).toPandas()
    truth = sim.world.truth_records(sim.now)
    truth = truth[truth.entity == ent.name]
    assert len(rows) == done.rows_written == rows.record_id.nunique() == len(truth)
    assert set(rows.record_id) == set(truth.record_id)
    abandoned = ledger.load_id[ledger.status == "abandoned"].iloc[0]  # what it left behind is gone
    assert not lake.exists(f"{lake.table_path(schema.raw_table(ent.name))}/_load_id={abandoned}")
    assert not lake.exists(lake._landing_path(ent, abandoned))


def test_reconciliation_on_spark_proves_every_row_and_names_a_lost_one(spark, make_simulator, settings_for, tmp_path):
    sim = make_simulator(seed=13, customers=80)
    settings = settings_for(sim, tmp_path)
    ent = entity("reviews")
    lake = _lake(spark, tmp_path)
    lake.land(SourceClient(settings.source(ent.system), settings.http), ent)
    assert "not gated yet" in " ".join(lake.reconcile(ent).mismatches)
    gated = lake.gate(ent, KEY)
    rec = lake.reconcile(ent)
    assert rec.ok and rec.loads == 1 and rec.written == gated.rows_in == rec.passed + rec.quarantined
    # A masked partition file removed behind the gate's back: the proof fails and says which load.
    masked = lake.table_path(schema.masked_table(ent.name))
    lake.delete(f"{masked}/_load_id={gated.loads[0]}")
    rec = lake.reconcile(ent)
    assert not rec.ok and gated.loads[0] in rec.mismatches[0] and "masked holds 0" in rec.mismatches[0]


def test_spark_scores_on_the_executors_what_duckdb_scores(spark, tmp_path):
    import duckdb

    from cem_pipeline.nlp import store
    from cem_pipeline.nlp.scoring import load_scorer
    from tests.support.ml import tiny_sentiment_model

    model = tiny_sentiment_model()
    texts = pd.DataFrame({
        "source": ["reviews", "reviews", "surveys", "calls", "calls", "social"],
        "record_id": ["r1", "r2", "s1", "c1", "c1", "p1"],
        "turn": pd.array([None, None, None, 0, 1, None], dtype="Int64"),
        "speaker": [None, None, None, "customer", "agent", None],
        "text": ["物流很快，包装完好。客服态度差！", "Great fit. Would buy again.", "", "我的订单还没到", "抱歉，马上为您查询",
                 "Worst support ever. Never again."],
    })
    lake = _lake(spark, tmp_path)
    spark.createDataFrame(texts.astype({"turn": "float"})).withColumn("turn", __import__("pyspark.sql.functions",
        fromlist=["col"]).col("turn").cast("int")).write.parquet(lake.table_path(schema.TEXTS_VIEW))
    summary, counts, runtime = lake.score(model, "torch")
    assert summary.n_scored == 5 and summary.blank_texts == 1 and runtime == "torch"

    with duckdb.connect() as con:
        duck = store.score_warehouse(con, load_scorer(model, runtime="torch"), texts=texts)
        assert duck.model_id == summary.model_id and store.table_counts(con) == counts
        for table in store.TABLES:
            cols = [c for c, _ in store.TABLES[table] if c != "scored_at"]
            want = _sorted(con.cursor().table(table).df(), cols)
            got = _sorted(lake.read_path(lake.table_path(table)).toPandas(), cols)
            assert got.equals(want), table
    again, _, _ = lake.score(model, "torch")  # nothing new: nothing rescored
    assert again.n_scored == 0


def test_an_analysis_input_in_the_lake_gives_the_analysis_duckdb_gives(spark, tmp_path, corpus):
    """The analysis assets read their (small, aggregated) dbt input on the driver on Spark: same frame, same
    key drivers as from the DuckDB file."""
    from cem_pipeline.analytics.drivers import DriverSettings, key_drivers
    from cem_pipeline.simulator.world import World
    from tests.support.analytics_truth import truth_cells

    world = World(seed=4, customers=3000, corpus=corpus)
    cells = truth_cells(world, world.end)
    lake = _lake(spark, tmp_path)
    spark.createDataFrame(cells).write.mode("overwrite").parquet(lake.dbt_table_path(schema.KEY_DRIVER_INPUT))
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as con:
        con.execute(f"CREATE SCHEMA {schema.INTERMEDIATE}")
        con.register("cells", cells)
        con.execute(f"CREATE TABLE {schema.KEY_DRIVER_INPUT} AS SELECT * FROM cells")
    from cem_pipeline.engines import DuckDBEngine

    duck = DuckDBEngine.__new__(DuckDBEngine)
    duck.warehouse = warehouse
    settings = DriverSettings(bootstrap=100, min_responses=100)
    from_lake = key_drivers(lake.read_frame(schema.KEY_DRIVER_INPUT), settings)
    from_duck = key_drivers(duck.read_frame(schema.KEY_DRIVER_INPUT), settings)
    assert len(from_lake) > 0
    pd.testing.assert_frame_equal(from_lake.drop(columns="as_of_day"), from_duck.drop(columns="as_of_day"),
                                  check_dtype=False)
    assert lake.read_frame("intermediate.no_such_model") is None
