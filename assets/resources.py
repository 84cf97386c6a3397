"""Dagster resources. Each reads its settings from CEM_* environment variables at run time
(cem_pipeline.config), and each field can be overridden in the launchpad."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from cem_pipeline.config import Settings, load_settings
from cem_pipeline.engines import engine_for
from cem_pipeline.privacy import Tokenizer, load_pii_key
from cem_pipeline.sources.client import SourceClient
from cem_pipeline.warehouse import Warehouse


class CemSettings(dg.ConfigurableResource):
    """The pipeline's settings: CEM_* environment variables, with launchpad overrides."""

    warehouse_path: str | None = None
    source_base_url: str | None = None
    quarantine_threshold: float = 0.05

    def settings(self, require_sources: bool = False) -> Settings:
        env = dict(os.environ)
        if self.warehouse_path:
            env["CEM_WAREHOUSE_PATH"] = self.warehouse_path
        if self.source_base_url:
            env["CEM_SOURCE_BASE_URL"] = self.source_base_url
        return load_settings(env, require_sources=require_sources)

    def warehouse(self) -> Warehouse:
        return Warehouse(self.settings().warehouse_path)

    def client(self, system: str) -> SourceClient:
        settings = self.settings(require_sources=True)
        return SourceClient(settings.source(system), settings.http)

    def pii_key(self) -> tuple[bytes, str | None]:
        """The run's PII key, and the demo-key notice the first time this process uses that key."""
        return load_pii_key(data_dir=Path(self.settings().data_dir), once=True)

    def tokenizer(self) -> tuple[Tokenizer, str | None]:
        key, notice = self.pii_key()
        return Tokenizer(key), notice

    def engine(self):
        """Where the Python steps keep their tables: the DuckDB file, or the Spark lake (CEM_ENGINE)."""
        return engine_for(self.settings())

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Fail the run before any step pulls data when a setting every step needs is missing or wrong
        # (e.g. CEM_PII_KEY in production), instead of at the first masking step after the raw loads.
        self.settings()
