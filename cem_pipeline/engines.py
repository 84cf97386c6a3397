"""The engine behind the Python steps (``CEM_ENGINE``): where raw landing, the gates, reconciliation and
sentiment scoring keep their tables. Both engines run the same domain functions (``ingest.page_to_arrow``,
``gates.gate_batch``, ``reconcile.check_*``, ``nlp.store.score_warehouse``); this module only picks storage.

- ``duckdb`` (default): the embedded DuckDB file (:class:`DuckDBEngine`).
- ``spark``: Parquet in the lake through Spark (:class:`cem_pipeline.lake.Lake`). dbt builds its models in the
  lake too; after each dbt run the marts and the ledgers are copied into the DuckDB file, which then serves
  what reads marts (BI publication, alerts, the demo report) the same way on both engines.
"""

from __future__ import annotations

from cem_pipeline.config import Settings, spark_prerequisites
from cem_pipeline.gates import gate_entity
from cem_pipeline.ingest import ingest_entity
from cem_pipeline.privacy import Tokenizer
from cem_pipeline.reconcile import reconcile, reconcile_staged
from cem_pipeline.warehouse import Warehouse

class DuckDBEngine:
    """Every table in the one DuckDB file."""

    name = "duckdb"

    def __init__(self, settings: Settings):
        self.warehouse = Warehouse(settings.warehouse_path)

    def land(self, client, entity):
        return ingest_entity(self.warehouse, client, entity)

    def gate(self, entity, pii_key):
        return gate_entity(self.warehouse, entity, Tokenizer(pii_key))

    def reconcile(self, entity):
        return reconcile(self.warehouse, entity)

    def reconcile_staged(self, entity):
        return reconcile_staged(self.warehouse, entity)

    def score(self, model_dir, runtime: str, log):
        from cem_pipeline.nlp.scoring import load_scorer
        from cem_pipeline.nlp.store import score_warehouse, table_counts

        scorer = load_scorer(model_dir, runtime=runtime)
        with self.warehouse.connect() as con:
            return score_warehouse(con, scorer, log=log), table_counts(con), scorer.runtime

    def after_dbt(self) -> None:
        """Nothing to do: dbt wrote the file every reader opens."""

    def read_frame(self, qualified: str):
        """A dbt model (small: an aggregated analysis input) as a pandas DataFrame."""
        with self.warehouse.connect(read_only=True) as con:
            return con.execute(f"SELECT * FROM {qualified}").df()


class SparkEngine:
    """The lake, through this process's SparkSession; the DuckDB file is the serving copy of the marts."""

    name = "spark"

    def __init__(self, settings: Settings):
        from cem_pipeline.lake import Lake, spark_session

        spark_prerequisites()
        self.settings = settings
        self.lake = Lake(spark_session(settings.engine), settings.engine.lake_uri)
        self.warehouse = Warehouse(settings.warehouse_path)

    def land(self, client, entity):
        return self.lake.land(client, entity)

    def gate(self, entity, pii_key):
        return self.lake.gate(entity, pii_key)

    def reconcile(self, entity):
        return self.lake.reconcile(entity)

    def reconcile_staged(self, entity):
        return self.lake.reconcile_staged(entity)

    def score(self, model_dir, runtime: str, log):
        return self.lake.score(model_dir, runtime, log)

    def after_dbt(self) -> None:
        self.lake.serve(self.warehouse)

    def read_frame(self, qualified: str):
        return self.lake.read_frame(qualified)


def engine_for(settings: Settings) -> DuckDBEngine | SparkEngine:
    return SparkEngine(settings) if settings.engine.is_spark else DuckDBEngine(settings)

