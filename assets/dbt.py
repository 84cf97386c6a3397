"""Every dbt model, seed and test as Dagster assets and asset checks (dagster-dbt), in one graph:
dbt sources map onto the masked_<entity> (and ml_<table>) assets, the quarantine source onto every
masked_<entity> gate; models are grouped by folder."""


import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from assets.resources import CemSettings
from cem_pipeline.config import spark_prerequisites
from cem_pipeline.sources.catalog import ENTITIES

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
QUARANTINE_SOURCE = "quarantine"  # dbt source over the gates' tables (models/staging/_sources_quarantine.yml)
SOURCE_GLOBS = ("models/**/*", "macros/**/*", "seeds/**/*", "tests/**/*", "dbt_project.yml", "profiles.yml")


def dbt_executable() -> str:
    """dbt from this interpreter's environment (the venv need not be on PATH)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def prepare_manifest() -> Path:
    """Run `dbt parse` when the manifest is missing or older than any project file, so the graph is
    never built from a stale manifest (it is a build artefact, not committed)."""
    newest = max((p.stat().st_mtime for g in SOURCE_GLOBS for p in DBT_PROJECT_DIR.glob(g) if p.is_file()),
                 default=0)
    if MANIFEST.exists() and MANIFEST.stat().st_mtime >= newest:
        return MANIFEST
    command = [dbt_executable(), "parse", "--quiet",
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    done = subprocess.run(command, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`dbt parse` failed; fix the dbt project:\n{done.stdout}\n{done.stderr}")
    return MANIFEST


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class CemDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(f"{dbt_resource_props['source_name']}_{dbt_resource_props['name']}")
        return dg.AssetKey(dbt_resource_props["name"])

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        # The quarantine.* tables have no asset of their own: every masked_<entity> gate writes them, so a
        # model reading the quarantine source (stg_quarantine__*) waits for all the gates.
        gates = [dg.AssetKey(f"masked_{e.name}") for e in ENTITIES]
        gated = [d for d in spec.deps if d.asset_key.to_user_string().startswith(f"{QUARANTINE_SOURCE}_")]
        if gated:
            deps = [d for d in spec.deps if d not in gated]
            return spec.replace_attributes(deps=[*deps, *gates])
        # Seeds load after the gates too: in the daily job Dagster runs dbt once before the ml step (staging)
        # and once after it; a seed with no upstream would otherwise get a dbt call of its own before any load.
        if manifest["nodes"].get(unique_id, {}).get("resource_type") == "seed":
            return spec.replace_attributes(deps=[*spec.deps, *gates])
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return ["team:analytics-engineering"]


translator = CemDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_code_references=False))


class DbtBuildConfig(dg.Config):
    """Launchpad / CLI config of the dbt step. A backfill names a day range: the incremental marts
    rebuild exactly those days (delete + insert), whatever their fingerprints say."""

    backfill_start: str | None = None  # YYYY-MM-DD, local day (CEM_TIMEZONE)
    backfill_end: str | None = None


def dbt_build_args(config: DbtBuildConfig, cadence: str | None) -> list[str]:
    """The `dbt build` arguments for a run: full refresh in the daily job, a day window in a backfill."""
    if bool(config.backfill_start) != bool(config.backfill_end):
        raise dg.Failure("a backfill needs both backfill_start and backfill_end (YYYY-MM-DD)")
    if config.backfill_start:
        try:
            start, end = (dt.date.fromisoformat(d) for d in (config.backfill_start, config.backfill_end))
        except ValueError as exc:
            raise dg.Failure(f"backfill days must be YYYY-MM-DD: {exc}") from None
        if start > end:
            raise dg.Failure(f"backfill_start {start} is after backfill_end {end}")
        return ["build", "--vars", json.dumps({"backfill_start": str(start), "backfill_end": str(end)})]
    # The daily job rebuilds everything (incremental marts included); hourly runs are incremental.
    return ["build", "--full-refresh"] if cadence == "daily" else ["build"]


@dbt_assets(manifest=prepare_manifest(), project=dbt_project, dagster_dbt_translator=translator,
            retry_policy=dg.RetryPolicy(max_retries=1, delay=5))
def cem_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, cem: CemSettings,
                   config: DbtBuildConfig):
    """`dbt build` of the selected models: runs each model, then its tests (blocking by severity)."""
    settings = cem.settings()
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)  # seeds may run before any raw load
    os.environ["CEM_WAREHOUSE_PATH"] = str(settings.warehouse_path.resolve())
    os.environ["CEM_TIMEZONE"] = settings.timezone
    if settings.engine.is_spark:
        spark_prerequisites()
    os.environ.update(settings.engine.dbt_env())  # CEM_ENGINE is the dbt target (profiles.yml)
    # The daily job runs dbt in more than one step (the ml assets sit between staging and the marts): a test
    # runs in the step that builds all of its parents, not in the first step that builds one of them (dbt's
    # default, "eager", would run a seed's relationship test before the model it checks exists).
    os.environ["DBT_INDIRECT_SELECTION"] = "buildable"
    args = dbt_build_args(config, context.run.tags.get("cadence"))
    built = []
    invocation = dbt.cli(args, context=context)
    for event in invocation.stream():
        if isinstance(event, (dg.Output, dg.AssetMaterialization)):
            built.append(context.asset_key_for_output(event.output_name) if isinstance(event, dg.Output)
                         else event.asset_key)
        yield event
    keep_partial_parse(invocation.target_path)
    if settings.engine.is_spark:
        cem.engine().after_dbt()  # the marts' serving copy in the DuckDB file (cem_pipeline/engines.py)
    # dbt has exited and let go of the warehouse: count the rows of what it built, for the UI. (On Spark the
    # tables live in the lake, not the DuckDB file; dbt-spark reports no row counts there yet.)
    if not settings.engine.is_spark:
        yield from row_count_observations(cem.warehouse(), built)


def keep_partial_parse(invocation_target: Path) -> None:
    """Make this invocation's parse state the project's, which dagster-dbt copies into the next invocation.

    dbt re-parses the whole project (~5 s here) when the profile differs from the saved state's, and the
    profile holds the warehouse path: the state `dbt parse` left at definitions load (default path) never
    matches a run's absolute CEM_WAREHOUSE_PATH, so every run paid a full parse. Kept, a run partial-parses
    whenever the previous one used the same warehouse (every scheduled run of an installation)."""
    state = invocation_target / "partial_parse.msgpack"
    if state.is_file():
        tmp = MANIFEST.parent / f"partial_parse.msgpack.{os.getpid()}"
        shutil.copyfile(state, tmp)
        os.replace(tmp, MANIFEST.parent / "partial_parse.msgpack")  # atomic: a concurrent reader sees one or the other


def row_count_observations(warehouse, keys: list[dg.AssetKey]):
    """One observation per built model with its row count (`dagster/row_count`), read after dbt ran."""
    relations = _relations()
    with warehouse.connect(read_only=True) as con:
        for key in keys:
            relation = relations.get(key.to_user_string())
            if relation is None:
                continue
            try:
                rows = con.execute(f"select count(*) from {relation}").fetchone()[0]
            except Exception:  # an ephemeral model or one dbt skipped: nothing to count
                continue
            yield dg.AssetObservation(asset_key=key, metadata={"dagster/row_count": dg.MetadataValue.int(rows)})


def _relations() -> dict[str, str]:
    """Model or seed name -> its `schema.alias` relation, from the manifest."""
    manifest = json.loads(MANIFEST.read_text())
    return {n["name"]: f'{n["schema"]}."{n.get("alias") or n["name"]}"' for n in manifest["nodes"].values()
            if n.get("resource_type") in ("model", "seed") and n.get("config", {}).get("materialized") != "ephemeral"}
