"""The analysis tables from their dbt inputs, and their one-transaction replacement in the DuckDB file.

The assets (``assets/analytics.py``) and an erasure's rebuild (``cem_pipeline.privacy.rebuild``) both call
these; ``read(qualified)`` returns a dbt model as a DataFrame (the engine's ``read_frame``)."""

from __future__ import annotations

import datetime as dt
from typing import Callable

import pandas as pd

from cem_pipeline import schema
from cem_pipeline.analytics.drivers import DriverSettings, key_drivers
from cem_pipeline.analytics.drops import DropSettings, metric_alerts, metric_tests
from cem_pipeline.analytics.outcomes import OutcomeSettings, outcome_effects
from cem_pipeline.warehouse import transaction

Tables = dict[str, tuple[str, pd.DataFrame]]  # qualified name -> (DDL columns, rows)


def key_driver_tables(read: Callable[[str], pd.DataFrame], settings: DriverSettings) -> Tables:
    return {schema.KEY_DRIVERS_TABLE: (schema.KEY_DRIVERS_COLUMNS, key_drivers(read(schema.KEY_DRIVER_INPUT), settings))}


def outcome_effect_tables(read: Callable[[str], pd.DataFrame], settings: OutcomeSettings | None = None) -> Tables:
    return {schema.OUTCOME_EFFECTS_TABLE: (schema.OUTCOME_EFFECTS_COLUMNS,
                                           outcome_effects(read(schema.OUTCOME_STRATA_INPUT), settings))}


def metric_alert_tables(read: Callable[[str], pd.DataFrame], settings: DropSettings,
                        now: dt.datetime | None = None) -> Tables:
    tests = metric_tests(read(schema.METRIC_WINDOWS_INPUT), settings)
    alerts = metric_alerts(tests, read(schema.DRIVER_WINDOWS_INPUT), settings)
    alerts["opened_at"] = now or dt.datetime.now()
    return {schema.METRIC_TESTS_TABLE: (schema.METRIC_TESTS_COLUMNS, tests),
            schema.METRIC_ALERTS_TABLE: (schema.METRIC_ALERTS_COLUMNS, alerts)}


def replace_tables(con, tables: Tables) -> None:
    """Replace each table with its rows (columns as in the DDL) in one transaction on connection ``con``."""
    with transaction(con):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema.ANALYTICS}")
        for qualified, (columns, frame) in tables.items():
            con.execute(f"CREATE OR REPLACE TABLE {qualified} ({columns})")
            if len(frame):
                con.register("_analysis", frame)
                con.execute(f"INSERT INTO {qualified} BY NAME SELECT * FROM _analysis")
                con.unregister("_analysis")
