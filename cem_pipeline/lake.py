"""The Spark engine's storage: raw landing, the load ledger as commit log, and the gates, on Parquet in a lake.

``CEM_ENGINE=spark`` keeps every table in ``CEM_LAKE_DIR`` (a local folder, or any Hadoop URI: ``s3a://``,
``hdfs://``), one folder per table, partitioned by load:

- ``raw/<entity>/_load_id=<id>/``: each load its own partition (readable PII; only the gates read it);
- ``raw/load_ledger/``: one row per ledger event, ``started`` then ``committed`` (or ``abandoned``);
- ``masked/<entity>/_load_id=<id>/`` and ``quarantine/<table>/entity=<e>/_load_id=<id>/``: the gates' output;
- ``quarantine/gate_ledger/``: one row per gated load.

There are no transactions across files, so the ledgers are the commit log: a raw partition counts only once
its load's ``committed`` row exists, a gate's output only once the gate ledger names the load. A load that
crashes leaves a ``started`` row and maybe part of its partition; the next load marks it ``abandoned`` and
deletes what it left, then starts again from the last committed cursor: nothing lost, nothing doubled. A gate
that crashes is rerun over the same loads and overwrites their partitions (dynamic partition overwrite).

The domain work is the same functions as on DuckDB: pages become Arrow tables with ``ingest.page_to_arrow``,
and each executor applies ``gates.gate_batch`` to its Arrow batches (``mapInArrow``). Only storage is here.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
import uuid
from collections import Counter
from typing import Callable

import pandas as pd
import pyarrow as pa

from cem_pipeline import schema
from cem_pipeline.config import EngineSettings
from cem_pipeline.gates import MASKED_ARROW, QUARANTINE_ARROW, GateResult, gate_batch
from cem_pipeline.ingest import LoadResult, page_to_arrow
from cem_pipeline.privacy import Tokenizer
from cem_pipeline.reconcile import Reconciliation, StagedReconciliation, check_loads, check_staged, staged_queries
from cem_pipeline.sources.catalog import Entity
from cem_pipeline.sources.client import Page, SourceClient
from cem_pipeline.timestamps import parse_source_ts

# Session settings for one machine; a cluster's spark-defaults.conf (or spark-submit --conf) wins over them.
SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.session.timeZone": "UTC",  # naive timestamps are UTC everywhere in the pipeline
    "spark.sql.sources.partitionOverwriteMode": "dynamic",  # a rerun replaces its own loads' partitions only
    "spark.driver.memory": "1g",
}
# Where dbt-spark keeps the models (spark.sql.warehouse.dir in dbt_project/profiles.yml): <lake>/warehouse/<schema>.db/<model>.
DBT_WAREHOUSE = "warehouse"
# Pages a load buffers on the driver before it writes them to its landing folder.
FLUSH_ROWS = 50_000

LEDGER_ARROW = pa.schema([
    ("load_id", pa.string()), ("entity", pa.string()), ("system", pa.string()), ("status", pa.string()),
    ("cursor_from", pa.string()), ("cursor_to", pa.string()), ("pages", pa.int32()),
    ("records_served", pa.int64()), ("rows_written", pa.int64()), ("duplicates_skipped", pa.int64()),
    ("started_at", pa.timestamp("us")), ("finished_at", pa.timestamp("us")), ("event_at", pa.timestamp("us")),
])
GATE_LEDGER_ARROW = pa.schema([
    ("entity", pa.string()), ("load_id", pa.string()), ("rows_in", pa.int64()), ("passed", pa.int64()),
    ("quarantined", pa.int64()), ("unknown_fields", pa.string()), ("gated_at", pa.timestamp("us")),
])
# What one executor hands back per Arrow batch: every output of gate_batch, tagged by `kind`
# (masked | quarantined | warned | drift | count | redaction), in one schema.
GATE_OUT = pa.schema([
    ("kind", pa.string()), *[(f.name, f.type) for f in MASKED_ARROW if f.name != "_load_id"],
    ("_load_id", pa.string()), ("rule", pa.string()), ("field", pa.string()), ("value_masked", pa.string()),
    ("rows_in", pa.int64()), ("passed", pa.int64()), ("quarantined", pa.int64()), ("n", pa.int64()),
])


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def spark_session(engine: EngineSettings, app_name: str = "cem-pipeline", conf: dict | None = None,
                  hive: bool = False):
    """The process's SparkSession (created once; later calls get the same one, whatever they ask).
    ``hive``: a Hive metastore catalog, as dbt-spark's session method uses (when dbt runs in this process)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(engine.spark_master).appName(app_name)
    if engine.spark_master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no name lookup of this host for a local run
        # Python workers run this interpreter (the venv with cem_pipeline); on a cluster the executors' image has it.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in {**SPARK_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    return (builder.enableHiveSupport() if hive else builder).getOrCreate()


# Tables the serving copy creates with DuckDB's own DDL rather than the types Spark read back.
SERVED_DDL = {schema.LOAD_LEDGER: schema.LOAD_LEDGER_COLUMNS, schema.GATE_LEDGER: schema.GATE_LEDGER_COLUMNS}


class Lake:
    """The lake's tables, read and written through one SparkSession."""

    def __init__(self, spark, root: str):
        self.spark = spark
        self.root = root.rstrip("/")

    # --- paths and files ------------------------------------------------------------------------------

    def table_path(self, qualified: str) -> str:
        """Where a table of cem_pipeline.schema lives: raw (readable PII) in ``<root>/raw/<table>``, outside the
        metastore dbt sees; the rest (masked, quarantine, ml) in dbt's warehouse folder, where dbt's
        on-run-start declares them as source tables (dbt_project/macros/lake.sql)."""
        if qualified.startswith(f"{schema.RAW}."):
            return f"{self.root}/{qualified.replace('.', '/')}"
        return self.dbt_table_path(qualified)

    def dbt_table_path(self, qualified: str) -> str:
        """A dbt model's folder: ``staging.stg_crm__orders`` -> ``<root>/warehouse/staging.db/stg_crm__orders``."""
        schema_name, table = qualified.split(".", 1)
        return f"{self.root}/{DBT_WAREHOUSE}/{schema_name}.db/{table}"

    def _fs(self, path: str):
        jvm = self.spark.sparkContext._jvm
        hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
        return hadoop_path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path

    def exists(self, path: str) -> bool:
        fs, p = self._fs(path)
        return fs.exists(p)

    def delete(self, path: str) -> None:
        fs, p = self._fs(path)
        if fs.exists(p):
            fs.delete(p, True)

    def read_frame(self, qualified: str):
        """A dbt model (small: an aggregated analysis input) as a pandas DataFrame on the driver; None if absent."""
        frame = self.read_path(self.dbt_table_path(qualified))
        return frame.toPandas() if frame is not None else None

    def read_path(self, path: str):
        """The Parquet files under ``path`` as a DataFrame; None when there are none (yet, or any more)."""
        from pyspark.errors import AnalysisException

        if not self.exists(path):
            return None
        try:
            return self.spark.read.parquet(path)
        except AnalysisException as exc:
            if "UNABLE_TO_INFER_SCHEMA" in str(exc):  # the folder holds no data file
                return None
            raise

    def read(self, qualified: str, arrow_schema: pa.Schema | None = None):
        """The table as a DataFrame; an empty one of ``arrow_schema`` when nothing was written yet."""
        df = self.read_path(self.table_path(qualified))
        if df is not None:
            return df
        path = self.table_path(qualified)
        if arrow_schema is None:
            raise FileNotFoundError(f"no table {qualified} in the lake at {path}")
        return self.spark.createDataFrame(arrow_schema.empty_table())

    def _append_rows(self, qualified: str, rows: list[dict], arrow_schema: pa.Schema) -> None:
        df = self.spark.createDataFrame(pa.Table.from_pylist(rows, schema=arrow_schema))
        df.coalesce(1).write.mode("append").parquet(self.table_path(qualified))

    # --- the load ledger --------------------------------------------------------------------------------

    def ledger(self, entity: str | None = None):
        """The load ledger, one row per load in its latest status (a pandas DataFrame, newest first)."""
        events = self.read(schema.LOAD_LEDGER, LEDGER_ARROW)
        if entity:
            events = events.where(events.entity == entity)
        df = events.toPandas()
        df = df.sort_values("event_at").drop_duplicates("load_id", keep="last")
        return df.drop(columns="event_at").sort_values("started_at", ascending=False).reset_index(drop=True)

    def committed_loads(self, entity: str) -> list[str]:
        led = self.ledger(entity)
        return sorted(led.load_id[led.status == "committed"])

    def _ledger_event(self, row: dict) -> None:
        self._append_rows(schema.LOAD_LEDGER, [{**row, "event_at": _utcnow()}], LEDGER_ARROW)

    # --- raw landing --------------------------------------------------------------------------------------

    def _landing_path(self, entity: Entity, load_id: str) -> str:
        return f"{self.table_path(schema.raw_table(entity.name))}_landing/{load_id}"

    def _abandon_started(self, entity: Entity) -> None:
        """Mark the loads a crash left ``started`` as abandoned and delete what they wrote."""
        led = self.ledger(entity.name)
        raw = self.table_path(schema.raw_table(entity.name))
        stale = led[led.status == "started"]
        for row in stale.astype(object).where(stale.notna(), None).to_dict("records"):
            self.delete(self._landing_path(entity, row["load_id"]))
            self.delete(f"{raw}/_load_id={row['load_id']}")
            self._ledger_event({**row, "status": "abandoned", "finished_at": _utcnow()})

    def land(self, client: SourceClient, entity: Entity, on_page: Callable[[Page], None] | None = None,
             flush_rows: int = FLUSH_ROWS) -> LoadResult:
        """Pull every change of ``entity`` since the last committed cursor into its own raw partition."""
        from pyspark.sql import Window, functions as F

        started = time.perf_counter()
        load_id = f"{entity.name}-{_utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self._abandon_started(entity)
        led = self.ledger(entity.name)
        done = led[led.status == "committed"].sort_values(["finished_at", "load_id"])
        cursor_from = done.cursor_to.iloc[-1] if len(done) else None
        row = {"load_id": load_id, "entity": entity.name, "system": entity.system, "status": "started",
               "cursor_from": cursor_from, "started_at": _utcnow()}
        self._ledger_event(row)

        landing = self._landing_path(entity, load_id)
        served, pages, best, best_text, buffered = 0, 0, None, None, []

        def flush():
            if buffered:
                self.spark.createDataFrame(pa.concat_tables(buffered)).write.mode("append").parquet(landing)
                buffered.clear()

        for page in client.pages(entity, updated_since=cursor_from):
            batch, page_best, page_best_text = page_to_arrow(page, entity)
            buffered.append(batch)
            served += batch.num_rows
            pages += 1
            if page_best is not None and (best is None or page_best > best):
                best, best_text = page_best, page_best_text
            if sum(t.num_rows for t in buffered) >= flush_rows:
                flush()
            if on_page:
                on_page(page)
        flush()

        # The versions raw has not seen: first of each content hash in this load, not in a committed load.
        raw = self.table_path(schema.raw_table(entity.name))
        written = 0
        landed = self.read_path(landing)
        if landed is not None:
            first = Window.partitionBy("_record_hash").orderBy("_page_no", "_row_no")
            new = landed.withColumn("_k", F.row_number().over(first)).where("_k = 1").drop("_k")
            committed = sorted(done.load_id)  # the ledger read above; no second read
            seen = self.read_path(raw) if committed else None
            if seen is not None:
                seen = (seen.where(F.col("_load_id").isin(committed))
                        .select("_record_hash", "source_updated_at").alias("seen"))
                new = new.alias("new").join(seen, [F.col("new._record_hash") == F.col("seen._record_hash"),
                                                   F.col("new.source_updated_at").eqNullSafe(
                                                       F.col("seen.source_updated_at"))], "left_anti")
            new = (new.withColumn("_ingested_at", F.lit(_utcnow()))
                   .withColumn("_load_id", F.lit(load_id)).cache())
            written = new.count()
            if written:
                new.write.mode("overwrite").partitionBy("_load_id").parquet(raw)
            new.unpersist()
        cursor_to = best_text if best_text is not None else cursor_from
        if cursor_from is not None and best is not None and parse_source_ts(cursor_from) > best:
            cursor_to = cursor_from  # never move the watermark backwards
        # The commit: from this row on the partition is part of raw.
        self._ledger_event({**row, "status": "committed", "cursor_to": cursor_to, "pages": pages,
                            "records_served": served, "rows_written": written,
                            "duplicates_skipped": served - written, "finished_at": _utcnow()})
        self.delete(landing)
        return LoadResult(entity.name, load_id, cursor_from, cursor_to, pages, served, written, served - written,
                          client.unparsable_pages, round(time.perf_counter() - started, 3))

    def raw_rows(self, entity: str):
        """The committed rows of raw.<entity> (what the gates and the tests may read)."""
        from pyspark.sql import functions as F

        committed = self.committed_loads(entity)
        rows = self.read_path(self.table_path(schema.raw_table(entity))) if committed else None
        return None if rows is None else rows.where(F.col("_load_id").isin(committed))

    # --- the gates ---------------------------------------------------------------------------------------

    def gated_loads(self, entity: str) -> set[str]:
        gl = self.read(schema.GATE_LEDGER, GATE_LEDGER_ARROW)
        return {r.load_id for r in gl.where(gl.entity == entity).select("load_id").collect()}

    def gate(self, entity: Entity, pii_key: str, now: dt.datetime | None = None) -> GateResult:
        """Gate every committed raw load of ``entity`` not gated yet, on the executors (``mapInArrow``)."""
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        started = time.perf_counter()
        result = GateResult(entity.name)
        pending = sorted(set(self.committed_loads(entity.name)) - self.gated_loads(entity.name))
        raw = self.raw_rows(entity.name)
        if not pending or raw is None:
            result.duration_s = round(time.perf_counter() - started, 3)
            return result
        rows = raw.where(F.col("_load_id").isin(pending))
        # Same (id, cursor) with two contents anywhere in raw, among the pending loads' keys (as on DuckDB).
        keys = rows.select("record_id", "source_updated_at").where("record_id is not null and "
                                                                   "source_updated_at is not null").distinct()
        conflicts = {(r.record_id, r.source_updated_at) for r in
                     raw.join(keys, ["record_id", "source_updated_at"])
                        .groupBy("record_id", "source_updated_at")
                        .agg(F.countDistinct("_record_hash").alias("n")).where("n > 1").collect()}
        out = (rows.orderBy("_load_id", "_page_no", "_row_no")
               .select("record_id", "source_updated_at", "_record", "_record_hash", "_load_id", "_ingested_at")
               .mapInArrow(_gate_batches(entity, pii_key, conflicts, now), from_arrow_schema(GATE_OUT))
               .persist())  # each output below reads it: gate every row once
        kinds = {r.kind for r in out.select("kind").distinct().collect()}
        gated_at = F.lit(_utcnow())
        # Only non-empty outputs are written (an empty write leaves a folder no reader can infer a schema from).
        if "masked" in kinds:
            (out.where("kind = 'masked'").select(*MASKED_ARROW.names).withColumn("_gated_at", gated_at)
             .withColumn("_ingested_at", F.col("_ingested_at").cast("timestamp"))  # as raw's, not Arrow's NTZ
             .write.mode("overwrite").partitionBy("_load_id")
             .parquet(self.table_path(schema.masked_table(entity.name))))
        for kind, table, stamp in (("quarantined", schema.QUARANTINE_TABLE, "quarantined_at"),
                                   ("warned", schema.WARNINGS_TABLE, "observed_at")):
            if kind in kinds:
                (out.where(F.col("kind") == kind)
                 .select(F.lit(entity.name).alias("entity"), *QUARANTINE_ARROW.names).withColumn(stamp, gated_at)
                 .write.mode("overwrite").partitionBy("entity", "_load_id").parquet(self.table_path(table)))
        drift = (out.where("kind = 'drift'").groupBy("_load_id", "field").agg(F.sum("n").alias("rows"))
                 .collect())
        if drift:
            (self.spark.createDataFrame([(entity.name, d._load_id, d.field, int(d.rows)) for d in drift],
                                        "entity string, load_id string, field string, rows bigint")
             .withColumn("observed_at", gated_at)
             .write.mode("overwrite").partitionBy("entity", "load_id").parquet(self.table_path(schema.DRIFT_TABLE)))
        counts = {r._load_id: r for r in out.where("kind = 'count'").groupBy("_load_id")
                  .agg(*(F.sum(c).alias(c) for c in ("rows_in", "passed", "quarantined"))).collect()}
        tallies = out.where("kind in ('quarantined', 'warned', 'redaction')").groupBy("kind", "rule") \
            .agg(F.sum("n").alias("n")).collect()
        out.unpersist()
        drift_by_load: dict[str, list[str]] = {}
        for d in drift:
            drift_by_load.setdefault(d._load_id, []).append(d.field)
        ledger = []
        for load in pending:  # empty loads too: each committed load gets its gate-ledger row
            c = counts.get(load)
            rows_in, passed, quarantined = (int(c.rows_in), int(c.passed), int(c.quarantined)) if c else (0, 0, 0)
            ledger.append({"entity": entity.name, "load_id": load, "rows_in": rows_in, "passed": passed,
                           "quarantined": quarantined, "unknown_fields": ",".join(sorted(drift_by_load.get(load, [])))
                           or None, "gated_at": _utcnow()})
            result.rows_in += rows_in
            result.passed += passed
            result.quarantined += quarantined
        self._append_rows(schema.GATE_LEDGER, ledger, GATE_LEDGER_ARROW)  # the gate's commit
        result.loads = pending
        by_kind: dict[str, Counter] = {"quarantined": Counter(), "warned": Counter(), "redaction": Counter()}
        for t in tallies:
            by_kind[t.kind][t.rule] += int(t.n)
        result.rules, result.warnings, result.redactions = (dict(by_kind[k]) for k in by_kind)
        result.unknown_fields = sorted({d.field for d in drift})
        result.duration_s = round(time.perf_counter() - started, 3)
        return result


    # --- reconciliation (the rules are cem_pipeline.reconcile's; the counting runs here) -------------------

    def _count_by_load(self, qualified: str, entity: str | None = None, distinct_hash: bool = False) -> dict:
        from pyspark.sql import functions as F

        df = self.read_path(self.table_path(qualified))
        if df is None:
            return {}
        if entity is not None:
            df = df.where(F.col("entity") == entity)
        n = F.countDistinct("_record_hash") if distinct_hash else F.count(F.lit(1))
        return {r._load_id: r.n for r in df.groupBy("_load_id").agg(n.alias("n")).collect()}

    def reconcile(self, entity: Entity) -> Reconciliation:
        """Per committed load: served = written + duplicates = raw rows; written = passed + quarantined = rows
        in masked and quarantine (cem_pipeline.reconcile.check_loads)."""
        led = self.ledger(entity.name)
        loads = led[led.status == "committed"].sort_values("load_id")
        raw_n = self._count_by_load(schema.raw_table(entity.name))
        masked_n = self._count_by_load(schema.masked_table(entity.name))
        quar_n = self._count_by_load(schema.QUARANTINE_TABLE, entity.name, distinct_hash=True)
        gl = self.read(schema.GATE_LEDGER, GATE_LEDGER_ARROW)
        gate = {r.load_id: (r.passed, r.quarantined) for r in gl.where(gl.entity == entity.name).collect()}
        rows = [(load, int(served), int(written), int(dups), raw_n.get(load, 0), *gate.get(load, (None, None)),
                 masked_n.get(load, 0), quar_n.get(load, 0))
                for load, served, written, dups in loads[["load_id", "records_served", "rows_written",
                                                          "duplicates_skipped"]].itertuples(index=False)]
        return check_loads(entity, rows)

    def reconcile_staged(self, entity: Entity) -> StagedReconciliation:
        """cem_pipeline.reconcile's staged queries, run by Spark over the lake's tables and dbt's staging model."""
        def rel(qualified: str) -> str:
            view = "lake__" + qualified.replace(".", "__")
            if qualified == schema.raw_table(entity.name):
                df = self.raw_rows(entity.name)
            elif qualified.startswith(f"{schema.STAGING}."):
                df = self.read_path(self.dbt_table_path(qualified))
            else:
                df = self.read_path(self.table_path(qualified))
            if df is None:  # nothing written yet (no row quarantined, say): the columns the queries read
                df = self.spark.createDataFrame([], "record_id string, entity string")
            df.createOrReplaceTempView(view)
            return view

        ids, landed = staged_queries(entity, rel)
        counts = self.spark.sql(ids).collect()[0]
        landed_counts = self.spark.sql(landed).collect()[0] if landed else (0, 0)
        return check_staged(entity, tuple(counts), tuple(landed_counts))


    # --- sentiment scoring ---------------------------------------------------------------------------------

    def score(self, model_dir, runtime: str, log: Callable[[str], None] = lambda m: None):
        """Score what the current model has not scored yet, as on DuckDB (cem_pipeline.nlp.store.score_warehouse:
        the same bookkeeping, run here over an in-memory copy of the lake's ml tables), with the inference
        on the executors (:class:`ExecutorScorer`). Returns (summary, table counts)."""
        import duckdb

        from cem_pipeline.nlp import store

        texts = self.read_path(self.table_path(schema.TEXTS_VIEW))
        texts = (texts.select("source", "record_id", "turn", "speaker", "text").toPandas() if texts is not None
                 else pd.DataFrame(columns=["source", "record_id", "turn", "speaker", "text"]))
        with duckdb.connect() as con:
            store.ensure_tables(con)
            for table in store.TABLES:
                rows = self.read_path(self.table_path(table))
                if rows is not None:
                    con.register("_lake_rows", rows.toArrow())
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _lake_rows")
                    con.unregister("_lake_rows")
            scorer = ExecutorScorer(self.spark, model_dir, runtime)
            summary = store.score_warehouse(con, scorer, log=log, texts=texts)
            counts = store.table_counts(con)
            # The lake's copies are replaced whole (Parquet has no delete); a crash here only costs a rescore.
            for table in store.TABLES:
                arrow = con.cursor().table(table).arrow().read_all()  # a cursor: con may hold an open result
                self.spark.createDataFrame(arrow).coalesce(2).write.mode("overwrite").parquet(self.table_path(table))
        return summary, counts, scorer.runtime

    # --- the serving copy ---------------------------------------------------------------------------------

    def _folders(self, path: str) -> list[str]:
        fs, p = self._fs(path)
        if not fs.exists(p):
            return []
        return sorted(st.getPath().getName() for st in fs.listStatus(p) if st.isDirectory())

    def layer_sizes(self) -> list[tuple[str, str, int]]:
        """(layer, table, rows) of every lake table: raw's committed rows, dbt's models, the gates' tables."""
        out = []
        for layer in (schema.RAW, schema.QUARANTINE, schema.MASKED, schema.STAGING, schema.INTERMEDIATE, schema.MARTS):
            base = f"{self.root}/{schema.RAW}" if layer == schema.RAW else f"{self.root}/{DBT_WAREHOUSE}/{layer}.db"
            for table in self._folders(base):
                if layer == schema.RAW and table.endswith("_landing"):
                    continue
                if layer == schema.RAW and table == "load_ledger":  # one row per load, as in DuckDB
                    out.append((layer, table, len(self.ledger())))
                    continue
                df = self.raw_rows(table) if layer == schema.RAW else self.read_path(f"{base}/{table}")
                out.append((layer, table, 0 if df is None else df.count()))
        return out

    def serve(self, warehouse) -> None:
        """Copy what readers of the DuckDB file need (the marts, both ledgers, every table's size) into it, each
        table replaced in one transaction; raw, masked and staging stay in the lake."""
        marts = f"{self.root}/{DBT_WAREHOUSE}/{schema.MARTS}.db"
        copies = {f"{schema.MARTS}.{t}": self.read_path(f"{marts}/{t}") for t in self._folders(marts)}
        ledger = self.ledger()  # one row per load, its latest status: what DuckDB's ledger holds
        copies[schema.LOAD_LEDGER] = self.spark.createDataFrame(ledger) if len(ledger) else None
        copies[schema.GATE_LEDGER] = self.read_path(self.table_path(schema.GATE_LEDGER))
        sizes = pa.table(list(zip(*self.layer_sizes())) or [[], [], []], names=["layer", "table_name", "rows"])
        with warehouse.connect() as con:
            con.execute("BEGIN")
            for qualified, df in copies.items():
                if df is None:
                    continue
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified.split('.')[0]}")
                con.register("_lake_copy", df.toArrow())
                if qualified in SERVED_DDL:  # the ledgers keep DuckDB's column types (counts stay integers)
                    con.execute(f"CREATE OR REPLACE TABLE {qualified} ({SERVED_DDL[qualified]})")
                    con.execute(f"INSERT INTO {qualified} BY NAME SELECT * FROM _lake_copy")
                else:
                    con.execute(f'CREATE OR REPLACE TABLE {qualified} AS SELECT * FROM _lake_copy')
                con.unregister("_lake_copy")
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema.OPS}")
            con.register("_lake_sizes", sizes)
            con.execute(f"CREATE OR REPLACE TABLE {schema.LAKE_TABLES} AS SELECT * FROM _lake_sizes")
            con.unregister("_lake_sizes")
            con.execute("COMMIT")


class ExecutorScorer:
    """A sentiment scorer whose ``score(texts)`` runs on the Spark executors: the texts are split into
    partitions, and each Python worker loads the model once and scores its share (``mapInPandas``). The
    driver loads it too, for the model's identity (name, version, runtime) that every row records."""

    def __init__(self, spark, model_dir, runtime: str, partitions: int | None = None):
        from cem_pipeline.nlp.scoring import load_scorer

        self.spark, self.model_dir, self.runtime_setting = spark, str(model_dir), runtime
        local = load_scorer(model_dir, runtime=runtime)
        self.model_name, self.model_version, self.runtime = local.model_name, local.model_version, local.runtime
        self.partitions = partitions or spark.sparkContext.defaultParallelism

    @property
    def model_id(self) -> str:
        return f"{self.model_name}-{self.model_version}"

    def score(self, texts, progress=None):
        from cem_pipeline.nlp.scoring import Score

        frame = pd.DataFrame({"i": range(len(texts)), "text": list(texts)})
        if frame.empty:
            return []
        rows = (self.spark.createDataFrame(frame).repartition(self.partitions)
                .mapInPandas(_score_frames(self.model_dir, self.runtime_setting), SCORE_SCHEMA)
                .toPandas().sort_values("i"))
        none = lambda v: None if pd.isna(v) else v  # noqa: E731
        return [Score(none(r.label), none(r.score), r.language, none(r.p_negative), none(r.p_neutral),
                      none(r.p_positive), int(r.n_tokens), bool(r.truncated)) for r in rows.itertuples()]


SCORE_SCHEMA = ("i long, label string, score double, language string, p_negative double, p_neutral double, "
                "p_positive double, n_tokens int, truncated boolean")
_SCORERS: dict[tuple[str, str], object] = {}


def _score_frames(model_dir: str, runtime: str):
    """What each executor runs: the model, loaded once per Python worker, over its share of the texts."""

    def run(frames):
        from cem_pipeline.nlp.scoring import load_scorer

        key = (model_dir, runtime)
        if key not in _SCORERS:
            _SCORERS[key] = load_scorer(model_dir, runtime=runtime)
        for frame in frames:
            scores = _SCORERS[key].score(list(frame.text))
            yield pd.DataFrame({"i": frame.i.to_numpy(), "label": [s.label for s in scores],
                                "score": [s.score for s in scores], "language": [s.language for s in scores],
                                "p_negative": [s.p_negative for s in scores], "p_neutral": [s.p_neutral for s in scores],
                                "p_positive": [s.p_positive for s in scores], "n_tokens": [s.n_tokens for s in scores],
                                "truncated": [s.truncated for s in scores]})

    return run


_TOKENIZERS: dict[str, Tokenizer] = {}


def _gate_batches(entity: Entity, pii_key: str, conflicts: set, now: dt.datetime | None):
    """The function each executor runs over its Arrow batches: ``gate_batch``, its outputs tagged by kind."""

    def run(batches):
        # One tokenizer per Python worker (its HMAC state does not pickle; its cache pays off across batches).
        tokenizer = _TOKENIZERS.setdefault(pii_key, Tokenizer(pii_key))
        for batch in batches:
            g = gate_batch(entity, batch.to_pydict(), tokenizer, conflicts, now)
            parts = [_tag("masked", g.masked.to_pylist()),
                     _tag("quarantined", [{**r, "n": 1} for r in g.quarantined.to_pylist()]),
                     _tag("warned", [{**r, "n": 1} for r in g.warned.to_pylist()]),
                     _tag("drift", [{"_load_id": ld, "field": f, "n": n} for (ld, f), n in g.drift.items()]),
                     _tag("count", [{"_load_id": ld, "rows_in": c[0], "passed": c[1], "quarantined": c[2]}
                                    for ld, c in g.per_load.items()]),
                     _tag("redaction", [{"rule": k, "n": n} for k, n in g.redactions.items()])]  # rule: the counter
            for part in parts:
                if part:
                    yield from pa.Table.from_pylist(part, schema=GATE_OUT).to_batches()

    return run


def _tag(kind: str, rows: list[dict]) -> list[dict]:
    return [{**r, "kind": kind} for r in rows]
