"""The one SparkSession of a test run (pytest fixture ``spark`` in tests/conftest.py).

Spark's static settings (catalog, warehouse dir) are fixed when the first session starts and every later
``getOrCreate`` gets that session back, so all Spark tests, and dbt-spark run in-process (its session method
calls ``SparkSession.builder.getOrCreate()``), share this one: the JVM starts once (~10 s).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cem_pipeline.config import ConfigError, EngineSettings, spark_prerequisites


def start_spark(root: Path):
    """A local[2] session with a Hive catalog (a Derby metastore and warehouse under ``root``), or a skip."""
    try:
        spark_prerequisites()
    except ConfigError as exc:
        pytest.skip(f"Spark tests skipped: {exc}")
    from cem_pipeline.lake import spark_session

    root.mkdir(parents=True, exist_ok=True)
    conf = {"spark.sql.warehouse.dir": str(root / "warehouse"),
            "javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true",
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={root}"}
    spark = spark_session(EngineSettings("spark", "local[2]", str(root / "lake")), "cem-tests", conf, hive=True)
    spark.sparkContext.setLogLevel("ERROR")
    return spark
