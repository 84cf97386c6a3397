"""One registry per concept: what is derived from the source catalogue and the PII-kind registry, and the
rules that keep it so (no import circles dodged inside functions, CEM_* read only in config)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cem_pipeline.privacy import kinds
from cem_pipeline.privacy.records import output_columns
from cem_pipeline.quality import contract, suites
from cem_pipeline.sources import catalog as C
from cem_pipeline.sources.catalog import Field, Range
from tests.support import REPO

STAGING = REPO / "dbt_project" / "models" / "staging"


@pytest.mark.parametrize("entity", C.ENTITIES, ids=lambda e: e.name)
def test_each_entity_names_its_dbt_staging_model_and_key(entity):
    sql = (STAGING / f"{entity.staging_model}.sql").read_text()
    assert f"source('masked', '{entity.name}')" in sql.replace('"', "'")
    assert re.search(rf"\b{entity.staging_key}\b", sql), f"{entity.staging_model} has no column {entity.staging_key}"


def test_staging_names_default_to_system_and_objects():
    toy = C.Entity("crm_coupons", "crm", "/v1/crm/coupons", "coupon_id", "toy")
    assert (toy.staging_model, toy.staging_key) == ("stg_crm__coupons", "coupon_id")
    toy = C.Entity("chats", "chat", "/v1/chats", "chat_id", "toy")
    assert toy.staging_model == "stg_chat__chats"
    assert replace(toy, staging_name="stg_chat__sessions").staging_model == "stg_chat__sessions"


def test_every_free_text_source_feeds_the_texts_the_ml_assets_score():
    assert [e.name for e in C.text_entities()] == ["reviews", "social_posts", "surveys", "calls"]
    view = (REPO / "dbt_project" / "models" / "intermediate" / "int_feedback__texts.sql").read_text()
    branches = view.split("union all")
    for entity in C.text_entities():
        # source name = the system, as in fct_feedback; the text comes from the entity's staging model
        mine = [b for b in branches if f"ref('{entity.staging_model}')" in b.replace('"', "'")
                or (entity.text_fields[0].type == "json" and "ref('stg_calls__turns')" in b)]
        assert mine and f"'{entity.system}'" in mine[0], (
            f"{entity.name} has free text but no branch in int_feedback__texts.sql: add one (README: Add a source)")
    assert len(branches) == len(C.text_entities())


def test_quality_suites_read_the_field_contract():
    toy = C.Entity("toy_tickets", "toy", "/v1/tickets", "ticket_id", "toy", (
        Field("ticket_id", "string", True),
        Field("priority", "string", allowed=("low", "high")),
        Field("minutes", "integer", ranges=(Range(0, 600, "minutes_out_of_range"),)),
        Field("updated_at", "timestamp", True),
    ))
    specs = suites.record_specs(toy)
    assert ("ExpectColumnValuesToBeInSet", {"column": "priority", "value_set": ["low", "high"]},
            "not_allowed_value", "priority") in specs
    assert ("ExpectColumnValuesToBeBetween", {"column": "minutes", "min_value": 0, "max_value": 600},
            "minutes_out_of_range", "minutes") in specs
    assert toy.name not in contract.CONDITIONAL_RANGES  # cross-field rules are optional per entity
    # The conditional survey-score ranges stay in the contract, one per survey type the field allows.
    kinds_checked = {r.when[1] for r in contract.CONDITIONAL_RANGES["surveys"]}
    assert kinds_checked == set(C.entity("surveys").field("survey_type").allowed)


def test_every_catalogue_pii_role_is_a_registered_kind():
    for entity in C.ENTITIES:
        for f in entity.fields:
            if f.pii and f.pii != C.FREE_TEXT:
                assert f.pii in kinds.BY_NAME and kinds.BY_NAME[f.pii].mask, f"{entity.name}.{f.name}: {f.pii}"


def test_registry_entries_are_complete():
    assert len(set(kinds.KINDS)) == len(kinds.REGISTRY)
    for k in kinds.REGISTRY:
        assert callable(k.normalize)
        assert (k.placeholder is None) == (k.redact is None), f"{k.name}: a placeholder needs a redaction rule"
        assert k.masked_token_kind is None or k.masked_token_kind in kinds.BY_NAME
    assert len(set(kinds.PLACEHOLDERS.values())) == len(kinds.PLACEHOLDERS)
    found = kinds.redact_text("a@b.com 13800138000 4111 1111 1111 1111 11010519491231002X")
    assert set(found.counts) == {"email", "phone", "bank_card", "id_number"}
    assert all(kinds.PLACEHOLDERS[k] in found.text for k in found.counts)


def test_a_kind_field_gets_token_columns_from_the_registry():
    entity = C.entity("crm_customers")
    cols = output_columns(entity)
    assert "phone_masked_token" in cols and "email_masked_token" not in cols and "email_token" in cols


PRIVACY = REPO / "cem_pipeline" / "privacy"


@pytest.mark.parametrize("module", sorted(p.stem for p in PRIVACY.glob("*.py") if p.stem != "__init__"))
def test_privacy_modules_import_alone_and_only_at_module_level(module):
    tree = ast.parse((PRIVACY / f"{module}.py").read_text())
    nested = [n.lineno for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert nested == [], f"privacy/{module}.py imports inside a function (lines {nested})"
    # Each module imports first in a fresh interpreter: no circle that only works in one order.
    subprocess.run([sys.executable, "-c", f"import cem_pipeline.privacy.{module}"], cwd=REPO, check=True)
    subprocess.run([sys.executable, "-c", "import cem_pipeline.sources.catalog"], cwd=REPO, check=True)


_READ = re.compile(r"""(?:environ\.get\(|getenv\(|environ\[)\s*["']CEM_[A-Z_]+["']\s*(?!\]\s*=[^=])""")


def test_cem_variables_are_read_only_in_config():
    offenders = []
    roots = [REPO / "cem_pipeline", REPO / "assets", REPO / "sensors", REPO / "bi", REPO / "cem_cli.py",
             REPO / "definitions.py"]
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*.py"):
            if path == REPO / "cem_pipeline" / "config.py" or path.name == "screenshots.py":  # a dev tool's flag
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if _READ.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == [], "read CEM_* through cem_pipeline.config:\n" + "\n".join(offenders)
