"""dbt runs one way (staging -> intermediate -> marts) and every published figure is computed once, in the
dbt macros: read from the manifest and the source tree, no warehouse needed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from assets.dbt import prepare_manifest
from tests.support import REPO

LAYERS = {"staging": 0, "intermediate": 1, "marts": 2}


def _models() -> dict[str, dict]:
    nodes = json.loads(prepare_manifest().read_text())["nodes"]
    return {uid: n for uid, n in nodes.items() if n["resource_type"] == "model"}


def _layer(node: dict) -> str:
    return node["fqn"][1]


def test_sources_are_read_only_in_staging():
    readers = sorted(n["name"] for n in _models().values()
                     if any(d.startswith("source.") for d in n["depends_on"]["nodes"]) and _layer(n) != "staging")
    assert readers == [], f"models outside staging reading a source: {readers}"


def test_models_read_only_earlier_layers_and_marts_no_other_mart():
    models = _models()
    backwards = []
    for node in models.values():
        for dep in node["depends_on"]["nodes"]:
            if dep not in models:
                continue  # a seed or a source
            upstream, here = LAYERS[_layer(models[dep])], LAYERS[_layer(node)]
            if upstream > here or (upstream == here == LAYERS["marts"]):
                backwards.append(f"{node['name']} reads {models[dep]['name']}")
    assert backwards == [], backwards


def test_feedback_flows_through_intermediates():
    by_name = {n["name"]: n for n in _models().values()}
    assert by_name["fct_feedback"]["depends_on"]["nodes"] == ["model.cem.int_feedback__unioned"]
    assert "model.cem.int_feedback__unioned" in by_name["int_feedback__journey"]["depends_on"]["nodes"]
    assert "model.cem.int_cx_alerts" in by_name["dim_customer_360"]["depends_on"]["nodes"]
    assert {d.split(".")[-1] for d in by_name["quality_report"]["depends_on"]["nodes"]} == {
        "stg_quarantine__gate_ledger", "stg_quarantine__quarantined_records", "stg_quarantine__quality_warnings",
        "stg_quarantine__schema_drift"}


# The published metric formulas (DESIGN.md section 4) use z = 1.96 and a square root; they live only in
# dbt_project/macros. Dashboards, the demo report and the models call the macros.
METRIC_ARITHMETIC = re.compile(r"1\.96|\bsqrt\s*\(|\*\* *0?\.5\b")


def test_metric_arithmetic_lives_only_in_the_dbt_macros():
    readers = [*REPO.glob("bi/**/*.sql"), *REPO.glob("bi/**/*.py"), *REPO.glob("cem_pipeline/**/*.py"),
               *REPO.glob("assets/**/*.py"), *REPO.glob("dbt_project/models/**/*.sql")]
    # The key-driver algebra takes square roots of eigenvalues and variances (linear algebra, no metric's
    # margin); the drop tests read the metrics' standard errors from dbt instead of recomputing them.
    algebra = {REPO / "cem_pipeline/analytics/drivers.py"}
    offenders = sorted(str(p.relative_to(REPO)) for p in readers
                       if p not in algebra and METRIC_ARITHMETIC.search(p.read_text()))
    assert offenders == [], f"metric arithmetic outside dbt_project/macros: {offenders}"
    assert METRIC_ARITHMETIC.search((REPO / "dbt_project/macros/nps.sql").read_text())


# SQL that only DuckDB runs, or that gives another answer on Spark; a model calls the macros of
# dbt_project/macros/portable.sql instead, so that the one project runs on DuckDB and on Spark alike.
ENGINE_SPECIFIC = re.compile(
    r"\bjson_extract\w*\s*\(|\btimestamptz\b|\btimezone\s*\(|\bhash\s*\(|\barg_(max|min)\s*\(|\bunnest\s*\("
    r"|\bstring_agg\s*\(|\bexclude\s*\(|\bregexp_matches\s*\(|\blateral\b|::|\blist\s*\(|\bepoch\s*\("
    r"|\bto_hours\s*\(|\bvarchar\b"
    r"|\bround\s*\(|\bmode\s*\(|dbt\.listagg",  # both run these, but ties and order come out differently
    re.IGNORECASE)
COMMENTS = re.compile(r"--[^\n]*|\{#.*?#\}", re.DOTALL)


def test_models_use_no_engine_specific_sql():
    project = REPO / "dbt_project"
    files = [*project.glob("models/**/*.sql"), *project.glob("models/**/*.yml"), *project.glob("tests/**/*.sql"),
             *project.glob("seeds/**/*.yml")]
    offenders = sorted(f"{p.relative_to(project)}: {m.group(0)}" for p in files
                       for m in [ENGINE_SPECIFIC.search(COMMENTS.sub("", p.read_text()))] if m)
    assert offenders == [], f"engine-specific SQL outside dbt_project/macros (use macros/portable.sql): {offenders}"
    assert ENGINE_SPECIFIC.search((project / "macros" / "portable.sql").read_text())  # the pattern still bites
