"""Settings from environment variables, in one place.

Every variable starts with ``CEM_``. The embedded defaults run the demo (local simulator, DuckDB file
under ``./data/``); ``CEM_ENV=production`` turns the defaults that only make sense for a demo into
errors that say which variable to set.

Per source system (``crm``, ``reviews``, ``social``, ``calls``, ``surveys``): its declaration file
(``sources/<system>.yaml``, or in the folder ``CEM_SOURCES_DIR`` names; :mod:`cem_pipeline.sources.declaration`)
names the variables holding its base URL and secret. The shipped files name ``CEM_<SYSTEM>_BASE_URL`` and
``CEM_<SYSTEM>_API_KEY`` (or the auth's secret), falling back to ``CEM_SOURCE_BASE_URL`` and
``CEM_SOURCE_API_KEY`` (one gateway for all five, as the simulator is); a system without a file does the same.

Every ``CEM_*`` variable is read in this module and nowhere else: :func:`load_settings` for the pipeline's
settings, and one small accessor per setting that is needed on its own (the BI app, the CLI, the alert
sensor, the simulator's corpus, the nlp block at the end). Code that passes settings on to a child
process (dbt) may still set them in its environment.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cem_pipeline.sources.catalog import SYSTEMS
# A leaf module (stdlib only), so no import circle: the runtime names live with the runtimes.
from cem_pipeline.nlp.runtimes import AUTO as AUTO_RUNTIME, RUNTIMES

if TYPE_CHECKING:  # declaration imports this module (ConfigError)
    from cem_pipeline.sources.declaration import SourceDeclaration

PREFIX = "CEM_"
DEMO_API_KEY = "demo-key"
DEFAULT_DATA_DIR = "data"
ENVS = ("demo", "test", "production")
DEFAULT_TIMEZONE = "Asia/Shanghai"
PII_KEY_VAR = f"{PREFIX}PII_KEY"
MIN_PII_KEY_CHARS = 32
PII_KEY_HINT = 'python -c "import secrets;print(secrets.token_hex(32))"'
# The engine (CEM_ENGINE) runs the dbt project, and is the dbt target of the same name (dbt_project/profiles.yml).
ENGINES = ("duckdb", "spark")
DEFAULT_SPARK_MASTER = "local[2]"
# local, local[4], local[*], local[2,3] (retries), or a cluster manager's URL.
SPARK_MASTER = re.compile(r"local(\[(\d+|\*)(,\d+)?\])?|yarn|(spark|k8s|mesos)://\S+")
# Hadoop file systems a lake may live on; a plain path is a local folder.
LAKE_SCHEMES = ("file", "s3a", "hdfs", "abfs", "abfss", "gs", "wasb", "wasbs", "dbfs")
SPARK_EXTRA_HINT = "pip install -e '.[spark]'  (pyspark and dbt-spark; `make test` installs them)"
MISSING_PII_KEY = (
    f"{PII_KEY_VAR} is not set; production needs a secret key for PII tokens (at least "
    f"{MIN_PII_KEY_CHARS} characters, kept in your secret store and never changed, or every token "
    f"changes). Generate one with: {PII_KEY_HINT}"
)
ALERT_SECRET_VAR = f"{PREFIX}ALERT_WEBHOOK_SECRET"
MIN_ALERT_SECRET_CHARS = 32
MISSING_ALERT_SECRET = (
    f"{PREFIX}ALERT_WEBHOOK_URL is set but {ALERT_SECRET_VAR} is not; production signs every alert it posts "
    f"(HMAC-SHA256, README \"Verifying alert webhooks\"), so it needs a secret of at least {MIN_ALERT_SECRET_CHARS} "
    f"characters shared with the receiver and kept in your secret store. Generate one with: {PII_KEY_HINT}"
)


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
    """``raw`` checked as a base URL; ``name`` is the full name of the variable it came from."""
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"{name}={raw!r} is not an http(s) URL; set it to the API's base URL, "
            "e.g. https://crm.example.com/api."
        )
    return raw.rstrip("/")


@dataclass(frozen=True)
class EngineSettings:
    """Which engine runs the dbt project, and where Spark keeps its tables."""

    name: str = "duckdb"
    spark_master: str = DEFAULT_SPARK_MASTER
    lake_dir: str = str(Path(DEFAULT_DATA_DIR) / "lake")  # a local folder, or a Hadoop URI (s3a://, hdfs://)

    @property
    def is_spark(self) -> bool:
        return self.name == "spark"

    def dbt_env(self) -> dict[str, str]:
        """What the dbt profile reads (dbt runs as a child process): the target and the Spark settings."""
        return {f"{PREFIX}ENGINE": self.name, f"{PREFIX}SPARK_MASTER": self.spark_master,
                f"{PREFIX}LAKE_DIR": self.lake_uri}

    @property
    def lake_uri(self) -> str:
        """The lake as Spark and dbt see it: a URI as given, a local folder made absolute (dbt runs elsewhere)."""
        return self.lake_dir if "://" in self.lake_dir else str(Path(self.lake_dir).resolve())


@dataclass(frozen=True)
class SourceSettings:
    system: str
    base_url: str
    api_key: str = field(repr=False)  # the declared auth's secret: API key, bearer token, password or client secret
    declaration: SourceDeclaration | None = field(default=None, repr=False)  # None: the built-in default
    user: str | None = None  # http_basic username / oauth2 client id


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
    bi_path: Path | None = None  # CEM_BI_FILE: the published, read-only DuckDB file for BI tools
    pii_key: str | None = field(default=None, repr=False)  # CEM_PII_KEY; None: the demo key file (not in production)
    warehouse_lock_timeout_s: float = 120.0
    engine: EngineSettings = field(default_factory=EngineSettings)

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
            from cem_pipeline.sources.declaration import default_declaration

            declaration = default_declaration(system)
            raise ConfigError(
                f"no settings for source system {system!r}: set {one_of_vars(declaration.base_url_env)} and "
                f"{one_of_vars(declaration.auth.secret_env)}, or the variables its file in {PREFIX}SOURCES_DIR names."
            ) from None


def load_settings(environ=None, *, require_sources: bool = True) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``); raise ConfigError on bad values."""
    environ = os.environ if environ is None else environ
    env = env_name(environ)
    pii_key = pii_key_setting(environ)
    if pii_key is None and env == "production":
        raise ConfigError(MISSING_PII_KEY)  # checked with the other settings, before a run pulls anything
    _webhook_secret(environ, env)  # so is the alert webhook's secret: a run does not find out at its first alert

    data_dir = data_dir_setting(environ)
    warehouse_raw = _env("WAREHOUSE_PATH", environ)
    if warehouse_raw is None and env == "production":
        raise ConfigError(
            f"{PREFIX}WAREHOUSE_PATH is not set; production needs an explicit DuckDB file path "
            f"(e.g. {PREFIX}WAREHOUSE_PATH=/srv/cem/warehouse.duckdb)."
        )
    warehouse_path = Path(warehouse_raw) if warehouse_raw else data_dir / "cem.duckdb"
    if warehouse_path.exists() and warehouse_path.is_dir():
        raise ConfigError(f"{PREFIX}WAREHOUSE_PATH={warehouse_path} is a directory; name a .duckdb file.")

    timezone = timezone_setting(environ)

    http = HttpSettings(
        page_size=_int("PAGE_SIZE", HttpSettings.page_size, environ),
        connect_timeout_s=_float("HTTP_CONNECT_TIMEOUT", HttpSettings.connect_timeout_s, environ, 0.01),
        read_timeout_s=_float("HTTP_READ_TIMEOUT", HttpSettings.read_timeout_s, environ, 0.01),
        max_retries=_int("HTTP_MAX_RETRIES", HttpSettings.max_retries, environ, minimum=0),
        backoff_factor_s=_float("HTTP_BACKOFF_FACTOR", HttpSettings.backoff_factor_s, environ),
        backoff_max_s=_float("HTTP_BACKOFF_MAX", HttpSettings.backoff_max_s, environ),
    )

    sources: dict[str, SourceSettings] = {}
    for system, declaration in source_declarations(environ).items():
        source = _source_settings(declaration, environ, env, require_sources)
        if source is not None:
            sources[system] = source

    bi_path = bi_file_setting(environ)
    if bi_path is not None and bi_path.resolve() == warehouse_path.resolve():
        raise ConfigError(f"{PREFIX}BI_FILE must differ from {PREFIX}WAREHOUSE_PATH: BI tools read a separate copy.")
    return Settings(env, data_dir, warehouse_path, timezone, http, sources, bi_path, pii_key,
                    warehouse_lock_timeout(environ), engine_settings(environ))


def _named(environ, names: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The first of the variables ``names`` that is set: (its name, its value), or (None, None)."""
    for name in names:
        value = environ.get(name)
        if value is not None and value.strip():
            return name, value.strip()
    return None, None


def one_of_vars(names: tuple[str, ...]) -> str:
    """``A (or B, C)``: variables of which the first one set wins, for messages."""
    return names[0] + (f" (or {', '.join(names[1:])})" if names[1:] else "")


def _source_settings(declaration, environ, env: str, require_sources: bool) -> SourceSettings | None:
    """One system's URL and credentials, from the variables its declaration names."""
    system, where = declaration.system, declaration.file
    url_var, url = _named(environ, declaration.base_url_env)
    if url is None and declaration.base_url is None:
        if not require_sources:
            return None
        raise ConfigError(
            f"no base URL for source system {system!r}: set {one_of_vars(declaration.base_url_env)}"
            f"{' for one gateway serving all sources' if len(declaration.base_url_env) > 1 else ''} "
            f"(named by base_url_env in {where}). `make demo` sets it to the local simulator for you.")
    url = _url(url_var, url) if url is not None else declaration.base_url
    auth = declaration.auth
    _, secret = _named(environ, auth.secret_env)
    if secret is None:
        if env == "production":
            raise ConfigError(f"no secret for source system {system!r} (auth {auth.type} in {where}): set "
                              f"{one_of_vars(auth.secret_env)}.")
        secret = DEMO_API_KEY  # the simulator's key, for every kind of auth it serves
    user = auth.user
    if user is None and auth.user_env:
        _, user = _named(environ, auth.user_env)
        if user is None:
            raise ConfigError(f"no user for source system {system!r} (auth {auth.type} in {where}): set "
                              f"{one_of_vars(auth.user_env)}.")
    return SourceSettings(system, url, secret, declaration, user)


def sources_dir(environ=None) -> Path:
    """``CEM_SOURCES_DIR``: the folder of source declarations (``<system>.yaml``); default ``sources/`` beside
    the package (the repository's top-level folder)."""
    environ = os.environ if environ is None else environ
    value = _env("SOURCES_DIR", environ)
    return Path(value).expanduser() if value else Path(__file__).resolve().parent.parent / "sources"


def source_declarations(environ=None) -> dict:
    """Every source system's declaration (``CEM_SOURCES_DIR``), checked: a bad file raises its DeclarationError."""
    from cem_pipeline.sources.declaration import load_declarations  # it imports this module (ConfigError)

    return load_declarations(sources_dir(environ))


# Single settings, for code that needs one of them without the whole Settings (and its checks).

def env_name(environ=None) -> str:
    """``CEM_ENV``: demo (default), test or production."""
    environ = os.environ if environ is None else environ
    env = (_env("ENV", environ) or "demo").lower()
    if env not in ENVS:
        raise ConfigError(f"{PREFIX}ENV={env!r} is not one of {', '.join(ENVS)}.")
    return env


def data_dir_setting(environ=None) -> Path:
    """``CEM_DATA_DIR``, default ``data``: the warehouse, demo PII key file, BI file and outbox live under it."""
    environ = os.environ if environ is None else environ
    return Path(_env("DATA_DIR", environ) or DEFAULT_DATA_DIR)


def warehouse_path_setting(environ=None) -> Path | None:
    """``CEM_WAREHOUSE_PATH`` as given (None if unset); :func:`load_settings` applies the default and checks."""
    environ = os.environ if environ is None else environ
    value = _env("WAREHOUSE_PATH", environ)
    return Path(value) if value else None


def pii_key_setting(environ=None) -> str | None:
    """``CEM_PII_KEY`` (None if unset); :mod:`cem_pipeline.privacy.keys` checks it and falls back to the demo key."""
    environ = os.environ if environ is None else environ
    return _env("PII_KEY", environ)


def timezone_setting(environ=None) -> str:
    """``CEM_TIMEZONE``, default Asia/Shanghai: metric days and schedules."""
    environ = os.environ if environ is None else environ
    timezone = _env("TIMEZONE", environ) or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{PREFIX}TIMEZONE={timezone!r} is not an IANA time zone (e.g. Asia/Shanghai).") from None
    return timezone


def bi_file_setting(environ=None) -> Path | None:
    """``CEM_BI_FILE``: the published BI file (None if unset: ``<data dir>/bi/cem_bi.duckdb``)."""
    environ = os.environ if environ is None else environ
    value = _env("BI_FILE", environ)
    return Path(value).expanduser() if value else None


BI_LANGUAGES = ("en", "zh")


def bi_language_setting(environ=None) -> str:
    """``CEM_BI_LANG`` (``en`` or ``zh``): the dashboards' language; unset, the locale's (``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``: ``zh_CN.UTF-8`` gives Chinese), else English. A page's switch overrides it."""
    environ = os.environ if environ is None else environ
    value = _env("BI_LANG", environ)
    if value is not None:
        if value.lower() not in BI_LANGUAGES:
            raise ConfigError(f"{PREFIX}BI_LANG={value!r} is not a dashboard language: use one of "
                              f"{', '.join(BI_LANGUAGES)} (or unset it to follow the locale).")
        return value.lower()
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):  # POSIX precedence: the first one set wins
        locale = environ.get(name, "").strip()
        if locale:
            return "zh" if locale.lower().startswith("zh") else "en"
    return "en"


def warehouse_lock_timeout(environ=None) -> float:
    """``CEM_WAREHOUSE_LOCK_TIMEOUT``, default 120: seconds a writer waits for the warehouse file's lock."""
    environ = os.environ if environ is None else environ
    return _float("WAREHOUSE_LOCK_TIMEOUT", 120.0, environ)


def engine_settings(environ=None) -> EngineSettings:
    """``CEM_ENGINE`` (duckdb, default; or spark), ``CEM_SPARK_MASTER`` (default local[2]) and ``CEM_LAKE_DIR``
    (default ``<data dir>/lake``; required in production with Spark). DuckDB ignores the Spark settings."""
    environ = os.environ if environ is None else environ
    name = (_env("ENGINE", environ) or ENGINES[0]).lower()
    if name not in ENGINES:
        raise ConfigError(f"{PREFIX}ENGINE={name!r} is not one of {', '.join(ENGINES)}; leave it unset for the "
                          "embedded DuckDB engine, or set spark to run the dbt project on Apache Spark.")
    master = _env("SPARK_MASTER", environ) or DEFAULT_SPARK_MASTER
    if not SPARK_MASTER.fullmatch(master):
        raise ConfigError(f"{PREFIX}SPARK_MASTER={master!r} is not a Spark master URL; use local[N] on one "
                          "machine, or spark://host:7077, yarn or k8s://https://host:443 for a cluster.")
    lake = _env("LAKE_DIR", environ)
    if lake is None:
        if name == "spark" and env_name(environ) == "production":
            raise ConfigError(f"{PREFIX}LAKE_DIR is not set; production on Spark needs the lake's location, "
                              f"e.g. {PREFIX}LAKE_DIR=s3a://cem-lake/prod or hdfs://namenode/cem.")
        lake = str(data_dir_setting(environ) / "lake")
    elif "://" in lake:
        scheme = lake.split("://", 1)[0].lower()
        if scheme not in LAKE_SCHEMES:
            hint = " (Spark's S3 file system is s3a://)" if scheme in ("s3", "s3n") else ""
            raise ConfigError(f"{PREFIX}LAKE_DIR={lake!r}: {scheme}:// is not a Hadoop file system Spark can "
                              f"write tables to{hint}; use one of {', '.join(s + '://' for s in LAKE_SCHEMES)} "
                              "or a local folder.")
    return EngineSettings(name, master, lake)


def spark_prerequisites() -> None:
    """Fail with the fix when the Spark engine is chosen but this machine cannot run it."""
    import importlib.util
    import shutil

    def importable(module: str) -> bool:
        try:
            return importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent package is missing
            return False

    missing = [name for name, module in (("pyspark", "pyspark"), ("dbt-spark", "dbt.adapters.spark"))
               if not importable(module)]
    if missing:
        raise ConfigError(f"{PREFIX}ENGINE=spark needs {' and '.join(missing)}, which are not installed: "
                          f"{SPARK_EXTRA_HINT}.")
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and shutil.which("java") is None:
        raise ConfigError(f"{PREFIX}ENGINE=spark needs Java 17 (Spark runs on the JVM): install it, e.g. "
                          "apt-get install openjdk-17-jre-headless, or set JAVA_HOME.")


def demo_customers(environ=None) -> int:
    """``CEM_DEMO_CUSTOMERS``, default 2000: the simulator's size for ``cem demo`` / ``cem ui``."""
    environ = os.environ if environ is None else environ
    return _int("DEMO_CUSTOMERS", 2000, environ)


@dataclass(frozen=True)
class AlertSettings:
    """Closed-loop alert delivery (cem_pipeline.alerts); no webhook URL = the embedded outbox file."""

    webhook_url: str | None
    outbox_path: Path
    timeout_s: float = 5.0
    max_attempts: int = 8
    tick_retries: int = 2
    tick_retry_sleep_s: float = 0.2
    backoff_base_s: float = 30.0
    backoff_max_s: float = 3600.0
    batch_size: int = 500
    record_every: int = 50  # ledger writes are batched; a crash in between re-sends with the same key
    concurrency: int = 8  # alerts in flight at once: a backlog is bound by the receiver's latency, not our CPU
    # CEM_ALERT_WEBHOOK_SECRET: signs every POST (cem_pipeline.alerts.signing); None only outside production
    webhook_secret: str | None = field(default=None, repr=False)


def _webhook_secret(environ, env: str) -> str | None:
    """``CEM_ALERT_WEBHOOK_SECRET``; in production required (and long enough) whenever a webhook URL is set."""
    secret = _env("ALERT_WEBHOOK_SECRET", environ)
    if env == "production" and _env("ALERT_WEBHOOK_URL", environ):
        if secret is None:
            raise ConfigError(MISSING_ALERT_SECRET)
        if len(secret) < MIN_ALERT_SECRET_CHARS:
            raise ConfigError(f"{ALERT_SECRET_VAR} has {len(secret)} characters; production needs at least "
                              f"{MIN_ALERT_SECRET_CHARS}. Generate one with: {PII_KEY_HINT}")
    return secret


def alert_settings(environ=None, data_dir: str | Path | None = None) -> AlertSettings:
    """Settings from CEM_ALERT_* variables. No webhook URL = the embedded outbox file. In production a webhook
    URL without CEM_ALERT_WEBHOOK_SECRET is a ConfigError (nothing is sent unsigned)."""
    env = os.environ if environ is None else environ
    data = Path(data_dir or data_dir_setting(env))
    secret = _webhook_secret(env, env_name(env))

    def num(name, default, cast=float):
        raw = _env(name, env)
        if raw is None:
            return default
        try:
            value = cast(raw)
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}{name}={raw!r} is not a number") from exc
        if value < 0:
            raise ConfigError(f"{PREFIX}{name} must not be negative")
        return value

    return AlertSettings(
        webhook_url=_env("ALERT_WEBHOOK_URL", env),
        outbox_path=Path(_env("ALERT_OUTBOX", env) or data / "alerts_outbox.jsonl"),
        timeout_s=num("ALERT_TIMEOUT", 5.0),
        max_attempts=int(num("ALERT_MAX_ATTEMPTS", 8, int)),
        tick_retries=int(num("ALERT_TICK_RETRIES", 2, int)),
        tick_retry_sleep_s=num("ALERT_TICK_RETRY_SLEEP", 0.2),
        backoff_base_s=num("ALERT_BACKOFF_BASE", 30.0),
        backoff_max_s=num("ALERT_BACKOFF_MAX", 3600.0),
        concurrency=max(1, int(num("ALERT_CONCURRENCY", 8, int))),
        webhook_secret=secret,
    )


# nlp settings: the sentiment model and its runtime, and where models, caches and the labelled corpus live.
# Read here only; cem_pipeline.nlp and assets/ml.py call these.

def sentiment_model_dir(environ=None) -> Path | None:
    """``CEM_SENTIMENT_MODEL``: a local model directory (ours, or any transformers sequence-classification
    checkpoint) that the pipeline and ``cem sentiment score`` use instead of the built demo model; None if unset."""
    environ = os.environ if environ is None else environ
    value = _env("SENTIMENT_MODEL", environ)
    return Path(value) if value else None


def sentiment_runtime(environ=None) -> str:
    """``CEM_SENTIMENT_RUNTIME``: how the pipeline and ``cem sentiment score`` run the sentiment model
    (``auto`` default: ONNX Runtime int8 when onnxruntime is installed, else PyTorch; or ``torch``,
    ``torch-int8``, ``onnx``, ``onnx-int8``; see :func:`cem_pipeline.nlp.scoring.load_scorer`)."""
    environ = os.environ if environ is None else environ
    value = (_env("SENTIMENT_RUNTIME", environ) or AUTO_RUNTIME).lower()
    if value not in (AUTO_RUNTIME, *RUNTIMES):
        raise ConfigError(f"{PREFIX}SENTIMENT_RUNTIME={value!r} is not one of {', '.join((AUTO_RUNTIME, *RUNTIMES))}.")
    return value


def model_root(environ=None) -> Path:
    """Where built sentiment models go (and ``CURRENT.json`` says which one the pipeline uses):
    ``CEM_MODEL_DIR``, else ``$CEM_DATA_DIR/models``, else ``./data/models``; the asset and the CLI share it."""
    environ = os.environ if environ is None else environ
    configured = _env("MODEL_DIR", environ)
    if configured:
        return Path(configured)
    return Path(_env("DATA_DIR", environ) or DEFAULT_DATA_DIR) / "models"


def cache_dir(environ=None) -> Path:
    """``CEM_CACHE_DIR``, else ``~/.cache/cem``: converted encoders, embedding caches, ONNX exports."""
    environ = os.environ if environ is None else environ
    configured = _env("CACHE_DIR", environ)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "cem"


def no_progress(environ=None) -> bool:
    """``CEM_NO_PROGRESS=1`` turns the model build's progress bars off (tests, logs)."""
    environ = os.environ if environ is None else environ
    return _env("NO_PROGRESS", environ) == "1"


def corpus_dir(environ=None) -> Path | None:
    """``CEM_CORPUS_DIR``: the data library (``shared/data``) the simulator's texts and the sentiment model's
    labelled sets come from; None if unset (each caller then falls back to ../shared/data, else the sample)."""
    environ = os.environ if environ is None else environ
    value = _env("CORPUS_DIR", environ)
    return Path(value) if value else None


def analytics_settings(environ=None):
    """Key-driver and metric-drop settings (cem_pipeline.analytics) from CEM_KEY_DRIVER_* / CEM_DROP_* variables:
    smaller companies lower the minimum sample sizes, at the price of wider intervals."""
    from cem_pipeline.analytics.drivers import DriverSettings
    from cem_pipeline.analytics.drops import DropSettings

    env = os.environ if environ is None else environ
    fdr = _float("DROP_FDR", DropSettings.fdr, env)
    if not 0 < fdr < 1:
        raise ConfigError(f"{PREFIX}DROP_FDR={fdr} must be between 0 and 1 (e.g. 0.05)")
    drivers = DriverSettings(
        bootstrap=_int("KEY_DRIVER_BOOTSTRAP", DriverSettings.bootstrap, env, minimum=50),
        min_responses=_int("KEY_DRIVER_MIN_RESPONSES", DriverSettings.min_responses, env, minimum=10),
        min_mentions=_int("KEY_DRIVER_MIN_MENTIONS", DriverSettings.min_mentions, env, minimum=2),
    )
    drops = DropSettings(
        fdr=fdr,
        min_current=_int("DROP_MIN_CURRENT", DropSettings.min_current, env, minimum=2),
        min_baseline=_int("DROP_MIN_BASELINE", DropSettings.min_baseline, env, minimum=2),
    )
    return drivers, drops
