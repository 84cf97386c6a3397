"""Settings: embedded defaults, per-system overrides, and errors that name the variable to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from cem_pipeline import config
from cem_pipeline.config import DEMO_API_KEY, ConfigError, HttpSettings, load_settings
from cem_pipeline.sources.catalog import SYSTEMS

GATEWAY = {"CEM_SOURCE_BASE_URL": "http://127.0.0.1:8765/"}
PII_KEY = {"CEM_PII_KEY": "k" * 40}


def test_demo_defaults():
    s = load_settings(dict(GATEWAY))
    assert s.env == "demo" and not s.is_production
    assert s.warehouse_path == Path("data") / "cem.duckdb"
    assert s.timezone == "Asia/Shanghai"
    assert s.http == HttpSettings()
    assert set(s.sources) == set(SYSTEMS)
    for system in SYSTEMS:
        assert s.source(system).base_url == "http://127.0.0.1:8765"  # trailing slash dropped
        assert s.source(system).api_key == DEMO_API_KEY


def test_per_system_settings_override_the_gateway(tmp_path):
    s = load_settings({**GATEWAY, "CEM_SOURCE_API_KEY": "gw-key", "CEM_REVIEWS_BASE_URL": "https://reviews.example.com/api",
                       "CEM_REVIEWS_API_KEY": " r-key ", "CEM_PAGE_SIZE": "500", "CEM_HTTP_READ_TIMEOUT": "2.5",
                       "CEM_HTTP_MAX_RETRIES": "0", "CEM_ENV": "Production", **PII_KEY,
                       "CEM_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "CEM_TIMEZONE": "Europe/Berlin"})
    assert s.is_production
    assert s.source("reviews").base_url == "https://reviews.example.com/api"
    assert s.source("reviews").api_key == "r-key"
    assert s.source("crm").api_key == "gw-key" and s.source("crm").base_url == "http://127.0.0.1:8765"
    assert (s.http.page_size, s.http.read_timeout_s, s.http.max_retries) == (500, 2.5, 0)
    assert s.warehouse_path == tmp_path / "w.duckdb" and s.timezone == "Europe/Berlin"


def test_sources_optional_when_not_required():
    s = load_settings({}, require_sources=False)
    assert s.sources == {}
    with pytest.raises(ConfigError, match="CEM_CALLS_BASE_URL"):
        s.source("calls")


def test_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("CEM_SOURCE_BASE_URL", "http://gateway.internal:9000")
    monkeypatch.setenv("CEM_PAGE_SIZE", "123")
    s = load_settings()
    assert s.source("surveys").base_url == "http://gateway.internal:9000" and s.http.page_size == 123


@pytest.mark.parametrize("environ, variable", [
    ({"CEM_SOURCE_BASE_URL": "ftp://files.example.com"}, "CEM_SOURCE_BASE_URL"),
    ({"CEM_SOURCE_BASE_URL": "localhost:8765"}, "CEM_SOURCE_BASE_URL"),
    ({**GATEWAY, "CEM_CRM_BASE_URL": "http://"}, "CEM_CRM_BASE_URL"),
    ({**GATEWAY, "CEM_PAGE_SIZE": "2k"}, "CEM_PAGE_SIZE"),
    ({**GATEWAY, "CEM_PAGE_SIZE": "0"}, "CEM_PAGE_SIZE"),
    ({**GATEWAY, "CEM_HTTP_READ_TIMEOUT": "soon"}, "CEM_HTTP_READ_TIMEOUT"),
    ({**GATEWAY, "CEM_HTTP_MAX_RETRIES": "-1"}, "CEM_HTTP_MAX_RETRIES"),
    ({**GATEWAY, "CEM_ENV": "staging"}, "CEM_ENV"),
    ({**GATEWAY, "CEM_TIMEZONE": "Mars/Olympus_Mons"}, "CEM_TIMEZONE"),
    ({**GATEWAY, "CEM_TIMEZONE": "../etc/passwd"}, "CEM_TIMEZONE"),
    ({}, "CEM_CRM_BASE_URL"),
    ({"CEM_CRM_BASE_URL": "http://crm:80"}, "CEM_REVIEWS_BASE_URL"),
])
def test_bad_settings_name_the_variable(environ, variable):
    with pytest.raises(ConfigError) as exc:
        load_settings(environ)
    assert variable in str(exc.value)


def test_missing_base_url_points_at_the_gateway_variable_and_the_demo():
    with pytest.raises(ConfigError) as exc:
        load_settings({"CEM_ENV": "test"})
    message = str(exc.value)
    assert "CEM_CRM_BASE_URL" in message and "CEM_SOURCE_BASE_URL" in message and "make demo" in message


def test_production_needs_a_warehouse_path(tmp_path):
    with pytest.raises(ConfigError, match="CEM_WAREHOUSE_PATH"):
        load_settings({**GATEWAY, **PII_KEY, "CEM_ENV": "production", "CEM_SOURCE_API_KEY": "k"})
    with pytest.raises(ConfigError, match="CEM_WAREHOUSE_PATH"):
        load_settings({**GATEWAY, **PII_KEY, "CEM_ENV": "production", "CEM_SOURCE_API_KEY": "k", "CEM_WAREHOUSE_PATH": "  "})
    # A directory is not a DuckDB file, in any environment.
    with pytest.raises(ConfigError, match="CEM_WAREHOUSE_PATH"):
        load_settings({**GATEWAY, "CEM_WAREHOUSE_PATH": str(tmp_path)})


def test_production_needs_api_keys(tmp_path):
    base = {**GATEWAY, **PII_KEY, "CEM_ENV": "production", "CEM_WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}
    with pytest.raises(ConfigError) as exc:
        load_settings(base)
    assert "CEM_CRM_API_KEY" in str(exc.value) and "CEM_SOURCE_API_KEY" in str(exc.value)
    # Keys for some systems only: the first one without a key is named.
    with pytest.raises(ConfigError, match="CEM_SOCIAL_API_KEY"):
        load_settings({**base, "CEM_CRM_API_KEY": "a", "CEM_REVIEWS_API_KEY": "b"})
    assert load_settings({**base, "CEM_SOURCE_API_KEY": "k"}).source("calls").api_key == "k"
    # Outside production the demo key is the fallback.
    assert load_settings({**base, "CEM_ENV": "test"}).source("calls").api_key == DEMO_API_KEY


def test_production_needs_the_pii_key(tmp_path):
    base = {**GATEWAY, "CEM_ENV": "production", "CEM_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
            "CEM_SOURCE_API_KEY": "k"}
    for unset in ({}, {"CEM_PII_KEY": "   "}):
        with pytest.raises(ConfigError, match="CEM_PII_KEY is not set; production needs"):
            load_settings({**base, **unset}, require_sources=False)
    s = load_settings({**base, **PII_KEY})
    assert s.pii_key == "k" * 40 and "k" * 40 not in repr(s)  # never in a log line
    # Demo and test runs fall back to the demo key file (cem_pipeline.privacy.keys).
    assert load_settings({**base, "CEM_ENV": "test"}).pii_key is None


def test_bi_file_is_one_variable(tmp_path):
    assert load_settings(dict(GATEWAY)).bi_file == Path("data") / "bi" / "cem_bi.duckdb"
    s = load_settings({**GATEWAY, "CEM_BI_FILE": str(tmp_path / "b.duckdb")})
    assert s.bi_file == tmp_path / "b.duckdb" and s.bi_parquet_dir == tmp_path / "parquet"
    assert load_settings({**GATEWAY, "CEM_BI_PATH": str(tmp_path / "old.duckdb")}).bi_file != tmp_path / "old.duckdb"
    with pytest.raises(ConfigError, match="CEM_BI_FILE"):
        load_settings({**GATEWAY, "CEM_BI_FILE": str(tmp_path / "w.duckdb"), "CEM_WAREHOUSE_PATH": str(tmp_path / "w.duckdb")})


def test_single_setting_accessors():
    assert config.warehouse_lock_timeout({}) == 120 and config.warehouse_lock_timeout({"CEM_WAREHOUSE_LOCK_TIMEOUT": "3"}) == 3
    with pytest.raises(ConfigError, match="CEM_WAREHOUSE_LOCK_TIMEOUT"):
        config.warehouse_lock_timeout({"CEM_WAREHOUSE_LOCK_TIMEOUT": "soon"})
    assert config.data_dir_setting({}) == Path("data") and config.data_dir_setting({"CEM_DATA_DIR": "/x"}) == Path("/x")
    assert config.demo_customers({}) == 2000 and config.demo_customers({"CEM_DEMO_CUSTOMERS": "50"}) == 50
    assert config.timezone_setting({}) == "Asia/Shanghai"
    with pytest.raises(ConfigError, match="CEM_TIMEZONE"):
        config.timezone_setting({"CEM_TIMEZONE": "Nowhere/Else"})


def test_alert_settings(tmp_path):
    a = config.alert_settings({}, data_dir=tmp_path)
    assert a.webhook_url is None and a.outbox_path == tmp_path / "alerts_outbox.jsonl" and a.concurrency == 8
    a = config.alert_settings({"CEM_ALERT_WEBHOOK_URL": "http://hook", "CEM_ALERT_CONCURRENCY": "0",
                               "CEM_ALERT_TIMEOUT": "1.5", "CEM_DATA_DIR": str(tmp_path / "d")})
    assert (a.webhook_url, a.concurrency, a.timeout_s) == ("http://hook", 1, 1.5)
    assert a.outbox_path == tmp_path / "d" / "alerts_outbox.jsonl"
    with pytest.raises(ConfigError, match="CEM_ALERT_MAX_ATTEMPTS"):
        config.alert_settings({"CEM_ALERT_MAX_ATTEMPTS": "many"})


def test_engine_defaults_to_embedded_duckdb(tmp_path):
    s = load_settings({"CEM_DATA_DIR": str(tmp_path)}, require_sources=False)
    assert s.engine.name == "duckdb" and not s.engine.is_spark
    assert s.engine.spark_master == "local[2]"
    assert s.engine.lake_uri == str((tmp_path / "lake").resolve())
    assert s.engine.dbt_env()["CEM_ENGINE"] == "duckdb"  # the dbt target of the same name


def test_spark_engine_settings():
    e = config.engine_settings({"CEM_ENGINE": "Spark", "CEM_SPARK_MASTER": "spark://head:7077",
                                "CEM_LAKE_DIR": "s3a://cem-lake/prod"})
    assert (e.name, e.spark_master, e.lake_uri) == ("spark", "spark://head:7077", "s3a://cem-lake/prod")


@pytest.mark.parametrize("env, variable, hint", [
    ({"CEM_ENGINE": "snowflake"}, "CEM_ENGINE", "duckdb, spark"),
    ({"CEM_ENGINE": "spark", "CEM_SPARK_MASTER": "localhost"}, "CEM_SPARK_MASTER", "local[N]"),
    ({"CEM_ENGINE": "spark", "CEM_LAKE_DIR": "s3://bucket/lake"}, "CEM_LAKE_DIR", "s3a://"),
    ({"CEM_ENGINE": "spark", "CEM_ENV": "production"}, "CEM_LAKE_DIR", "s3a://cem-lake"),
])
def test_engine_errors_name_the_variable(env, variable, hint):
    with pytest.raises(ConfigError, match=variable) as err:
        config.engine_settings(env)
    assert hint in str(err.value)


def test_spark_prerequisites_name_the_fix(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pyspark.*pip install -e '\.\[spark\]'"):
        config.spark_prerequisites()
