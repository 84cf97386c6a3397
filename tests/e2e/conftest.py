"""End-to-end fixtures: ``shared``, the one session-wide materialization the read-only tests read
(tests/support/shared_pipeline.py). Tests that fault, kill or backfill build their own world."""

from __future__ import annotations

import pytest

from tests.support.shared_pipeline import SharedPipeline


@pytest.fixture(scope="session")
def shared(corpus) -> SharedPipeline:
    pipeline = SharedPipeline(corpus)
    yield pipeline
    pipeline.close()
