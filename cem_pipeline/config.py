"""Settings from environment variables, in one place.

Every variable starts with ``CEM_``. The embedded defaults run the demo (local simulator, DuckDB file
under ``./data/``); ``CEM_ENV=production`` turns the defaults that only make sense for a demo into
errors that say which variable to set.

Per source system (``crm``, ``reviews``, ``social``, ``calls``, ``surveys``):
``CEM_<SYSTEM>_BASE_URL`` and ``CEM_<SYSTEM>_API_KEY``, falling back to ``CEM_SOURCE_BASE_URL`` and
``CEM_SOURCE_API_KEY`` (one gateway for all five, as the simulator is).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cem_pipeline.sources.catalog import SYSTEMS

PREFIX = "CEM_"
DEMO_API_KEY = "demo-key"
DEFAULT_DATA_DIR = "data"


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the variable and how to fix it."""


def _env(name: str, environ) -> str | None:
    value = environ.get(PREFIX + name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _int(name: str, default: int, environ, minimum: int = 1) -> int:
    raw = _env(name, environ)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name}={raw!r} is not a whole number; set it to e.g. {default}.") from None
    if value < minimum:
        raise ConfigError(f"{PREFIX}{name}={value} must be at least {minimum}.")
    return value


def _float(name: str, default: float, environ, minimum: float = 0.0) -> float:
    raw = _env(name, environ)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name}={raw!r} is not a number; set it to e.g. {default}.") from None
    if value < minimum:
        raise ConfigError(f"{PREFIX}{name}={value} must be at least {minimum}.")
    return value


def _url(name: str, raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"{PREFIX}{name}={raw!r} is not an http(s) URL; set it to the API's base URL, "
            "e.g. https://crm.example.com/api."
        )
    return raw.rstrip("/")


@dataclass(frozen=True)
class SourceSettings:
    system: str
    base_url: str
    api_key: str


@dataclass(frozen=True)
class HttpSettings:
    page_size: int = 2000
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    max_retries: int = 6
    backoff_factor_s: float = 0.2
    backoff_max_s: float = 30.0


@dataclass(frozen=True)
class Settings:
    env: str
    data_dir: Path
    warehouse_path: Path
    timezone: str
    http: HttpSettings
    sources: dict[str, SourceSettings] = field(default_factory=dict)
    bi_path: Path | None = None  # the published, read-only DuckDB file for BI tools

    @property
    def bi_file(self) -> Path:
        return self.bi_path or self.data_dir / "bi" / "cem_bi.duckdb"

    @property
    def bi_parquet_dir(self) -> Path:
        return self.bi_file.parent / "parquet"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def source(self, system: str) -> SourceSettings:
        try:
            return self.sources[system]
        except KeyError:
            raise ConfigError(
                f"no settings for source system {system!r}: set {PREFIX}{system.upper()}_BASE_URL and "
                f"{PREFIX}{system.upper()}_API_KEY (or {PREFIX}SOURCE_BASE_URL / {PREFIX}SOURCE_API_KEY)."
            ) from None


def load_settings(environ=None, *, require_sources: bool = True) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``); raise ConfigError on bad values."""
    environ = os.environ if environ is None else environ
    env = (_env("ENV", environ) or "demo").lower()
    if env not in ("demo", "test", "production"):
        raise ConfigError(f"{PREFIX}ENV={env!r} is not one of demo, test, production.")

    data_dir = Path(_env("DATA_DIR", environ) or DEFAULT_DATA_DIR)
    warehouse_raw = _env("WAREHOUSE_PATH", environ)
    if warehouse_raw is None and env == "production":
        raise ConfigError(
            f"{PREFIX}WAREHOUSE_PATH is not set; production needs an explicit DuckDB file path "
            f"(e.g. {PREFIX}WAREHOUSE_PATH=/srv/cem/warehouse.duckdb)."
        )
    warehouse_path = Path(warehouse_raw) if warehouse_raw else data_dir / "cem.duckdb"
    if warehouse_path.exists() and warehouse_path.is_dir():
        raise ConfigError(f"{PREFIX}WAREHOUSE_PATH={warehouse_path} is a directory; name a .duckdb file.")

    timezone = _env("TIMEZONE", environ) or "Asia/Shanghai"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{PREFIX}TIMEZONE={timezone!r} is not an IANA time zone (e.g. Asia/Shanghai).") from None

    http = HttpSettings(
        page_size=_int("PAGE_SIZE", HttpSettings.page_size, environ),
        connect_timeout_s=_float("HTTP_CONNECT_TIMEOUT", HttpSettings.connect_timeout_s, environ, 0.01),
        read_timeout_s=_float("HTTP_READ_TIMEOUT", HttpSettings.read_timeout_s, environ, 0.01),
        max_retries=_int("HTTP_MAX_RETRIES", HttpSettings.max_retries, environ, minimum=0),
        backoff_factor_s=_float("HTTP_BACKOFF_FACTOR", HttpSettings.backoff_factor_s, environ),
        backoff_max_s=_float("HTTP_BACKOFF_MAX", HttpSettings.backoff_max_s, environ),
    )

    sources: dict[str, SourceSettings] = {}
    default_url = _env("SOURCE_BASE_URL", environ)
    default_key = _env("SOURCE_API_KEY", environ)
    for system in SYSTEMS:
        url_var, key_var = f"{system.upper()}_BASE_URL", f"{system.upper()}_API_KEY"
        url = _env(url_var, environ) or default_url
        key = _env(key_var, environ) or default_key
        if url is None:
            if require_sources:
                raise ConfigError(
                    f"no base URL for source system {system!r}: set {PREFIX}{url_var} "
                    f"(or {PREFIX}SOURCE_BASE_URL for one gateway serving all sources). "
                    "`make demo` sets it to the local simulator for you."
                )
            continue
        url = _url(url_var if _env(url_var, environ) else "SOURCE_BASE_URL", url)
        if key is None:
            if env == "production":
                raise ConfigError(
                    f"no API key for source system {system!r}: set {PREFIX}{key_var} "
                    f"(or {PREFIX}SOURCE_API_KEY)."
                )
            key = DEMO_API_KEY
        sources[system] = SourceSettings(system, url, key)

    bi_raw = _env("BI_PATH", environ)
    bi_path = Path(bi_raw) if bi_raw else None
    if bi_path is not None and bi_path.resolve() == warehouse_path.resolve():
        raise ConfigError(f"{PREFIX}BI_PATH must differ from {PREFIX}WAREHOUSE_PATH: BI tools read a separate copy.")
    return Settings(env, data_dir, warehouse_path, timezone, http, sources, bi_path)


def sentiment_runtime(environ=None) -> str:
    """``CEM_SENTIMENT_RUNTIME``: how the pipeline and ``cem sentiment score`` run the sentiment model
    (``auto`` default: ONNX Runtime int8 when onnxruntime is installed, else PyTorch; or ``torch``,
    ``torch-int8``, ``onnx``, ``onnx-int8``; see :func:`cem_pipeline.nlp.scoring.load_scorer`)."""
    from cem_pipeline.nlp.scoring import AUTO, RUNTIMES

    environ = os.environ if environ is None else environ
    value = (_env("SENTIMENT_RUNTIME", environ) or AUTO).lower()
    if value not in (AUTO, *RUNTIMES):
        raise ConfigError(f"{PREFIX}SENTIMENT_RUNTIME={value!r} is not one of {', '.join((AUTO, *RUNTIMES))}.")
    return value
