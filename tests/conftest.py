"""Shared fixtures: the source simulator and settings pointing at it.

- ``corpus``: the labelled text corpus, loaded once per session (about a second).
- ``simulator``: one session-wide simulator (seed 7, 300 people). Treat it as read-only: do not
  move its clock or leave faults set; tests that do should use ``make_simulator``.
- ``make_simulator``: a factory for private simulators, stopped after the test.
- ``settings_for(sim, tmp_path, **overrides)``: ``Settings`` for a simulator, with a warehouse
  under ``tmp_path`` and short timeouts/backoff; overrides are ``CEM_*`` names without the prefix
  (``page_size=50``) or full names (``CEM_PAGE_SIZE="50"``).
"""

from __future__ import annotations

import pytest

from cem_pipeline.config import load_settings
from cem_pipeline.simulator.corpus import Corpus
from cem_pipeline.simulator.server import SimulatorServer


def sim_env(sim, tmp_path, **overrides) -> dict[str, str]:
    """The environment (CEM_* variables) that points the pipeline at ``sim``."""
    env = {
        "CEM_ENV": "test",
        "CEM_SOURCE_BASE_URL": sim.url,
        "CEM_SOURCE_API_KEY": sim.api_key,
        "CEM_DATA_DIR": str(tmp_path / "data"),
        "CEM_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "CEM_HTTP_CONNECT_TIMEOUT": "1",
        "CEM_HTTP_READ_TIMEOUT": "1",
        "CEM_HTTP_BACKOFF_FACTOR": "0.01",
        "CEM_HTTP_BACKOFF_MAX": "0.1",
        "CEM_HTTP_MAX_RETRIES": "4",
    }
    for key, value in overrides.items():
        name = key if key.startswith("CEM_") else "CEM_" + key.upper()
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


def _settings_for(sim, tmp_path, **overrides):
    return load_settings(sim_env(sim, tmp_path, **overrides))


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return Corpus()


@pytest.fixture(scope="session")
def simulator(corpus):
    sim = SimulatorServer(seed=7, customers=300, corpus=corpus).start()
    yield sim
    sim.stop()


@pytest.fixture
def make_simulator(corpus):
    started = []

    def make(seed: int = 7, customers: int = 300, **kwargs) -> SimulatorServer:
        sim = SimulatorServer(seed=seed, customers=customers, corpus=corpus, **kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def settings_for():
    """``settings_for(sim, tmp_path, **overrides)`` -> Settings (see the module docstring)."""
    return _settings_for


@pytest.fixture
def env_for():
    """``env_for(sim, tmp_path, **overrides)`` -> the CEM_* environment as a dict (for subprocesses)."""
    return sim_env


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """The test run's one SparkSession (tests/support/spark.py); skipped without pyspark or Java."""
    from tests.support.spark import start_spark

    session = start_spark(tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()
