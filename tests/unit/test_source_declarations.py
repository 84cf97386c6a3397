"""Source declarations (sources/<system>.yaml): the shipped files read, and every mistake is an error that
names the file, the field and the fix — when the definitions load, not when a run first reads the source."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cem_pipeline.config import DEMO_API_KEY, ConfigError, load_settings, source_declarations
from cem_pipeline.sources.catalog import SYSTEMS
from cem_pipeline.sources.declaration import DeclarationError, load_declarations, parse_declaration
from tests.support import REPO

SOURCES = REPO / "sources"
GOOD = """
base_url: https://crm.example.com/api
auth:
  type: api_key
  api_key_env: CEM_CRM_API_KEY
paginator:
  type: offset
  total_path: total
data_selector: results
resources:
  crm_customers:
    rename: {id: customer_id}
"""


def parse(text: str, system: str = "crm"):
    return parse_declaration(text, f"sources/{system}.yaml", system)


def error(text: str, system: str = "crm") -> str:
    with pytest.raises(DeclarationError) as exc:
        parse(text, system)
    return str(exc.value)


def test_the_shipped_files_read_and_describe_both_simulator_styles():
    default, mixed = load_declarations(SOURCES), load_declarations(SOURCES / "mixed")
    assert set(default) == set(mixed) == set(SYSTEMS)
    assert all(d.file.endswith(f"{s}.yaml") for s, d in {**default, **mixed}.items())  # a file each, no fallback
    assert {d.paginator.type for d in default.values()} == {"cursor"}
    assert {d.paginator.type for d in mixed.values()} == {"cursor", "json_link", "header_link", "offset", "page_number"}
    assert {(d.auth.type, d.auth.location) for d in mixed.values()} >= {
        ("api_key", "header"), ("api_key", "query"), ("bearer", "header"), ("http_basic", "header"),
        ("oauth2_client_credentials", "header")}
    # The cursor field's own name in a system is renamed to the catalogue's.
    assert mixed["crm"].resources["crm_orders"].rename == {"id": "order_id", "total_amount": "amount",
                                                           "lastModified": "updated_at"}


def test_a_good_declaration_fills_in_the_defaults():
    d = parse(GOOD)
    assert d.base_url == "https://crm.example.com/api" and d.auth.name == "X-API-Key"
    assert d.paginator.offset_param == "offset" and d.paginator.limit_param == "limit"
    assert d.resources["crm_customers"].data_selector == "results"
    assert d.resources["crm_stores"].path == "/v1/crm/stores"  # not declared: the catalogue's path
    assert d.incremental.start_param == "updated_since" and d.requests_per_second is None


BAD = {
    # unknown keys, with a suggestion
    "unknown top-level key": (GOOD + "data_selecter: x\n", ["data_selecter", "unknown key", "data_selector"]),
    "unknown paginator key": (GOOD.replace("total_path: total", "total_pth: total"), ["paginator.total_pth", "total_path"]),
    "key of another paginator": (GOOD.replace("total_path: total", "cursor_path: next"), ["paginator.cursor_path", "unknown key"]),
    "unknown auth key": (GOOD.replace("api_key_env: CEM_CRM_API_KEY", "api_key_env: CEM_CRM_API_KEY\n  header: X"),
                         ["auth.header", "unknown key"]),
    "unknown resource key": (GOOD.replace("rename:", "renames:"), ["resources.crm_customers.renames", "rename"]),
    # missing required keys
    "no base URL": (GOOD.replace("base_url: https://crm.example.com/api\n", ""), ["base_url", "missing", "base_url_env"]),
    "no auth": (GOOD.split("paginator:")[0].split("auth:")[0] + "paginator:" + GOOD.split("paginator:")[1],
                ["auth", "missing", "Connecting your systems"]),
    "no auth type": (GOOD.replace("type: api_key\n", ""), ["auth.type", "missing", "oauth2_client_credentials"]),
    "no secret variable": (GOOD.replace("  api_key_env: CEM_CRM_API_KEY\n", ""), ["auth.api_key_env", "missing"]),
    "no paginator type": (GOOD.replace("  type: offset\n", ""), ["paginator.type", "missing", "page_number"]),
    "oauth2 without a token URL": (GOOD.replace("type: api_key\n  api_key_env: CEM_CRM_API_KEY",
                                                "type: oauth2_client_credentials\n  client_id: me\n"
                                                "  client_secret_env: CEM_CRM_SECRET"), ["auth.token_url", "missing"]),
    "basic without a user": (GOOD.replace("type: api_key\n  api_key_env: CEM_CRM_API_KEY",
                                          "type: http_basic\n  password_env: CEM_CRM_PASSWORD"),
                             ["auth.username", "`username` or `username_env`"]),
    # unknown types
    "unknown paginator type": (GOOD.replace("type: offset", "type: offsett"), ["paginator.type", "`offsett`", "`offset`"]),
    "unknown auth type": (GOOD.replace("type: api_key", "type: digest"), ["auth.type", "`digest`", "bearer"]),
    "unknown incremental format": (GOOD + "incremental: {format: unix}\n", ["incremental.format", "epoch_s"]),
    # renames and resources the catalogue does not have
    "rename to a field the catalogue lacks": (GOOD.replace("{id: customer_id}", "{id: customer_idd}"),
                                              ["resources.crm_customers.rename.id", "customer_idd",
                                               "`customer_id`", "catalog.py"]),
    "two names for one field": (GOOD.replace("{id: customer_id}", "{id: customer_id, cid: customer_id}"),
                                ["rename.cid", "already"]),
    "an entity of another system": (GOOD.replace("crm_customers:", "reviews:"), ["resources.reviews", "crm_orders"]),
    # literal secrets
    "a literal API key": (GOOD.replace("api_key_env: CEM_CRM_API_KEY", "api_key: sk_live_4f9a8b"),
                          ["auth.api_key", "secret written in the file", "api_key_env:"]),
    "a literal password": (GOOD.replace("type: api_key\n  api_key_env: CEM_CRM_API_KEY",
                                        "type: http_basic\n  username: cem\n  password: hunter2"),
                           ["auth.password", "secret written in the file", "password_env:"]),
    "a secret where its variable goes": (GOOD.replace("api_key_env: CEM_CRM_API_KEY", "api_key_env: sk-live-4f9a8b"),
                                         ["auth.api_key_env", "not an environment variable name", "never the value"]),
    "credentials in the URL": (GOOD.replace("https://crm", "https://cem:hunter2@crm"), ["base_url", "credentials"]),
    # values
    "a rate limit of zero": (GOOD + "rate_limit: {requests_per_second: 0}\n", ["rate_limit.requests_per_second"]),
    "a record path that is no path": (GOOD.replace("data_selector: results", "data_selector: 'results[*]'"),
                                      ["data_selector", "result.items"]),
    "a file named after no system": (GOOD, ["(file name)", "crm.yaml"]),
    "not YAML": ("auth: [unclosed\n", ["not valid YAML"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_each_mistake_names_the_file_the_field_and_the_fix(case):
    text, expected = BAD[case]
    message = error(text, "helpdesk" if case == "a file named after no system" else "crm")
    assert message.startswith("sources/") and ".yaml" in message
    assert "Fix" in message
    for part in expected:
        assert part in message, (case, message)


def test_a_folder_of_declarations_points_elsewhere_and_keeps_defaults_for_the_rest(tmp_path):
    (tmp_path / "crm.yaml").write_text(GOOD.replace("api_key_env: CEM_CRM_API_KEY", "api_key_env: [CRM_KEY, CEM_SOURCE_API_KEY]"))
    s = load_settings({"CEM_SOURCES_DIR": str(tmp_path), "CEM_SOURCE_BASE_URL": "http://127.0.0.1:9", "CRM_KEY": "k1"})
    assert s.source("crm").base_url == "https://crm.example.com/api" and s.source("crm").api_key == "k1"
    assert s.source("crm").declaration.paginator.type == "offset"
    assert s.source("reviews").declaration.file == "(built-in default)"  # no file: the simulator's default style
    assert s.source("reviews").base_url == "http://127.0.0.1:9" and s.source("reviews").api_key == DEMO_API_KEY
    (tmp_path / "reviews.yml").write_text(GOOD)
    with pytest.raises(DeclarationError, match="reviews.yml.*rename it to reviews.yaml"):
        source_declarations({"CEM_SOURCES_DIR": str(tmp_path)})


def test_secrets_and_users_come_from_the_variables_the_file_names(tmp_path):
    env = {"CEM_SOURCES_DIR": str(SOURCES / "mixed"), "CEM_SOURCE_BASE_URL": "http://127.0.0.1:9",
           "CEM_ENV": "production", "CEM_PII_KEY": "k" * 40, "CEM_WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}
    with pytest.raises(ConfigError) as exc:
        load_settings(env)
    assert "CEM_CRM_PASSWORD (or CEM_SOURCE_API_KEY)" in str(exc.value) and "http_basic" in str(exc.value)
    s = load_settings({**env, "CEM_SOURCE_API_KEY": "gw", "CEM_SOCIAL_CLIENT_SECRET": "cs"})
    assert (s.source("crm").user, s.source("crm").api_key) == ("cem", "gw")
    assert (s.source("social").user, s.source("social").api_key) == ("cem-pipeline", "cs")
    assert "cs" not in repr(s.source("social")) and "gw" not in repr(s)  # secrets stay out of log lines
    (tmp_path / "crm.yaml").write_text(GOOD.replace("type: api_key\n  api_key_env: CEM_CRM_API_KEY",
                                                    "type: http_basic\n  username_env: CRM_USER\n  password_env: CRM_PW"))
    with pytest.raises(ConfigError, match="no user for source system 'crm'.*CRM_USER"):
        load_settings({"CEM_SOURCES_DIR": str(tmp_path), "CEM_SOURCE_BASE_URL": "http://127.0.0.1:9"})


def test_a_bad_file_stops_the_definitions_from_loading(tmp_path):
    (tmp_path / "social.yaml").write_text(GOOD.replace("crm_customers:", "social_posts:")
                                          .replace("{id: customer_id}", "{id: post_idd}"))
    env = {**os.environ, "CEM_SOURCES_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", "import assets.raw"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("cem_pipeline.sources.declaration.DeclarationError: ")
    assert f"{Path(tmp_path) / 'social.yaml'}: resources.social_posts.rename.id" in last and "post_id" in last
