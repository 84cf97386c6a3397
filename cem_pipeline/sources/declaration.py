"""Source declarations: one YAML file per source system says how its HTTP API is read.

A file (``sources/<system>.yaml``, or the folder ``CEM_SOURCES_DIR`` names) declares the base URL (or the
environment variables holding it), the auth, the paginator, the incremental parameter, where the records
are in a response, a client-side rate limit and the renames from the system's field names to the
catalogue's. The vocabulary is dlt's ``rest_api`` (and Airbyte's low-code) where one exists: paginator
types ``cursor`` / ``json_link`` / ``header_link`` / ``offset`` / ``page_number``, ``data_selector``, auth
types ``api_key`` / ``bearer`` / ``http_basic`` / ``oauth2_client_credentials``. The one HTTP client
(:mod:`cem_pipeline.sources.client`) interprets it; the catalogue keeps the fields' types and PII roles.

Secrets never live in a file: a file names the environment variables that hold them (``api_key_env``), and
:mod:`cem_pipeline.config` reads those. A literal secret, an unknown key, a missing required key, an unknown
type or a rename to a field the catalogue lacks is a :class:`DeclarationError` naming the file, the field
and the fix; the Dagster definitions read every file when they load, so a bad file fails there.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cem_pipeline.config import ConfigError
from cem_pipeline.sources import catalog
from cem_pipeline.sources.catalog import entities_of

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INCREMENTAL_FORMATS = ("iso8601", "iso8601_utc", "epoch_s", "epoch_ms")
ROOT = "$"  # data_selector for a body that is the list of records itself

# Per paginator type: its keys and their defaults (dlt's names).
PAGINATORS: dict[str, dict[str, object]] = {
    "cursor": {"cursor_path": "next_cursor", "cursor_param": "cursor", "page_size_param": "limit"},
    "json_link": {"next_url_path": "next", "page_size_param": "limit"},
    "header_link": {"links_next_key": "next", "page_size_param": "limit"},
    "offset": {"offset_param": "offset", "limit_param": "limit", "total_path": None},
    "page_number": {"page_param": "page", "base_page": 1, "page_size_param": "limit", "total_path": None},
}
# Per auth type: (required keys, optional keys). "a|b" means exactly one of the two.
AUTHS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "api_key": (("api_key_env",), ("name", "location")),
    "bearer": (("token_env",), ()),
    "http_basic": (("username|username_env", "password_env"), ()),
    "oauth2_client_credentials": (("token_url", "client_id|client_id_env", "client_secret_env"), ("scope",)),
}
SECRET_KEYS = {"api_key": "api_key_env", "bearer": "token_env", "http_basic": "password_env",
               "oauth2_client_credentials": "client_secret_env"}
# Keys that would hold a secret in the file itself, and the key that names its variable instead.
LITERAL_SECRETS = {"api_key": "api_key_env", "key": "api_key_env", "token": "token_env", "access_token": "token_env",
                   "password": "password_env", "client_secret": "client_secret_env", "secret": "<kind>_env"}
TOP_KEYS = ("system", "description", "base_url", "base_url_env", "auth", "paginator", "data_selector",
            "incremental", "rate_limit", "resources")
RESOURCE_KEYS = ("path", "data_selector", "rename")
INCREMENTAL_KEYS = {"start_param": "updated_since", "format": "iso8601", "cursor_path": None}


class DeclarationError(ConfigError):
    """A source declaration is wrong; the message names the file, the field and the fix."""


@dataclass(frozen=True)
class Auth:
    type: str
    secret_env: tuple[str, ...]  # the variables holding the secret (api key, token, password, client secret)
    user: str | None = None  # http_basic username / oauth2 client id, when written in the file (not secrets)
    user_env: tuple[str, ...] = ()
    name: str = "X-API-Key"  # api_key: header or query parameter name
    location: str = "header"  # api_key: header | query
    token_url: str | None = None  # oauth2: absolute, or a path under the base URL
    scope: str | None = None


@dataclass(frozen=True)
class Paginator:
    type: str
    options: dict = field(default_factory=dict)  # the type's keys (PAGINATORS), defaults filled in

    def __getattr__(self, name):
        try:
            return self.__dict__["options"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class Incremental:
    start_param: str = "updated_since"
    format: str = "iso8601"
    cursor_path: str | None = None  # the system's name of the catalogue's cursor field, if it differs


@dataclass(frozen=True)
class Resource:
    """How one catalogue entity is read: its path, where its records are, and the renames."""

    path: str
    data_selector: str
    rename: dict[str, str]  # system field name -> catalogue field name


@dataclass(frozen=True)
class SourceDeclaration:
    system: str
    file: str  # where it was read from (for messages); "(built-in default)" when no file exists
    base_url: str | None
    base_url_env: tuple[str, ...]
    auth: Auth
    paginator: Paginator
    incremental: Incremental
    resources: dict[str, Resource]
    requests_per_second: float | None = None

    def resource(self, entity) -> Resource:
        return self.resources.get(entity.name) or Resource(entity.path, "data", {})


def default_declaration(system: str) -> SourceDeclaration:
    """A system without a file is read the way the simulator serves by default (``sources/surveys.yaml``)."""
    var = f"CEM_{system.upper()}"
    return SourceDeclaration(
        system, "(built-in default)", None, (f"{var}_BASE_URL", "CEM_SOURCE_BASE_URL"),
        Auth("api_key", (f"{var}_API_KEY", "CEM_SOURCE_API_KEY")), Paginator("cursor", dict(PAGINATORS["cursor"])),
        Incremental(), {e.name: Resource(e.path, "data", {}) for e in entities_of(system)})


# ------------------------------------------------------------------ reading and checking
class _Checker:
    """Reads one parsed file; every complaint names the file and the field."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, where: str, problem: str, fix: str) -> DeclarationError:
        return DeclarationError(f"{self.file}: {where}: {problem}. Fix: {fix}")

    def mapping(self, value, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping of keys, got {type(value).__name__} {value!r}",
                            "write it as `key: value` lines indented under it")
        return value

    def keys(self, value: dict, where: str, known) -> None:
        for key in value:
            if key in LITERAL_SECRETS:
                raise self.literal_secret(where, key)
            if key not in known:
                close = difflib.get_close_matches(str(key), list(known), n=1)
                hint = f"did you mean `{close[0]}`?" if close else f"use only {', '.join(known)}"
                raise self.fail(f"{where}.{key}" if where else str(key), "unknown key", f"remove it or rename it; {hint}")

    def literal_secret(self, where: str, key: str) -> DeclarationError:
        env_key = LITERAL_SECRETS[key]
        return self.fail(f"{where}.{key}" if where else key, "a secret written in the file",
                         f"secrets come only from environment variables: remove it, write `{env_key}: "
                         f"<VARIABLE>` and set that variable (in your secret store) to the secret")

    def text(self, value, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"expected text, got {value!r}", "give a non-empty string")
        return value.strip()

    def choice(self, value, where: str, options) -> str:
        text = self.text(value, where)
        if text not in options:
            close = difflib.get_close_matches(text, list(options), n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise self.fail(where, f"`{text}` is not one of {', '.join(options)}", f"use one of them{hint}")
        return text

    def env_names(self, value, where: str) -> tuple[str, ...]:
        names = value if isinstance(value, list) else [value]
        out = []
        for name in names:
            if not isinstance(name, str) or not ENV_NAME.fullmatch(name.strip()):
                raise self.fail(where, f"{name!r} is not an environment variable name",
                                "name the variable that holds the value (e.g. CEM_CRM_API_KEY), never the value "
                                "itself; a list names fallbacks, the first one set wins")
            out.append(name.strip())
        if not out:
            raise self.fail(where, "no variable named", "name at least one environment variable")
        return tuple(out)

    def url(self, value, where: str) -> str:
        text = self.text(value, where)
        if re.match(r"https?://[^/@]*@", text):
            raise self.fail(where, "the URL carries credentials (user:password@)",
                            "secrets come only from environment variables: remove them and declare `auth`")
        if not re.match(r"https?://[^/]+", text):
            raise self.fail(where, f"{text!r} is not an http(s) URL", "write it as https://host[/prefix]")
        return text.rstrip("/")

    # -------------------------------------------------------------- sections
    def auth(self, raw) -> Auth:
        raw = self.mapping(raw, "auth")
        if "type" not in raw:
            raise self.fail("auth.type", "missing", f"set it to one of {', '.join(AUTHS)}")
        kind = self.choice(raw["type"], "auth.type", AUTHS)
        required, optional = AUTHS[kind]
        self.keys(raw, "auth", ["type", *(k for r in required for k in r.split("|")), *optional])
        for need in required:
            given = [k for k in need.split("|") if k in raw]
            if not given:
                raise self.fail(f"auth.{need.split('|')[0]}", f"missing (auth type {kind} needs it)",
                                f"add `{need.replace('|', '` or `')}`")
            if len(given) > 1:
                raise self.fail(f"auth.{given[1]}", f"both {' and '.join(given)} given", "keep one of them")
        secret_key = SECRET_KEYS[kind]
        user_key = next((k for k in ("username", "client_id") if k in raw), None)
        user_env_key = next((k for k in ("username_env", "client_id_env") if k in raw), None)
        return Auth(
            kind, self.env_names(raw[secret_key], f"auth.{secret_key}"),
            user=self.text(raw[user_key], f"auth.{user_key}") if user_key else None,
            user_env=self.env_names(raw[user_env_key], f"auth.{user_env_key}") if user_env_key else (),
            name=self.text(raw.get("name", "X-API-Key"), "auth.name"),
            location=self.choice(raw.get("location", "header"), "auth.location", ("header", "query")),
            token_url=self.text(raw["token_url"], "auth.token_url") if "token_url" in raw else None,
            scope=self.text(raw["scope"], "auth.scope") if raw.get("scope") is not None else None,
        )

    def paginator(self, raw) -> Paginator:
        raw = self.mapping(raw, "paginator")
        if "type" not in raw:
            raise self.fail("paginator.type", "missing", f"set it to one of {', '.join(PAGINATORS)}")
        kind = self.choice(raw["type"], "paginator.type", PAGINATORS)
        defaults = PAGINATORS[kind]
        self.keys(raw, "paginator", ["type", *defaults])
        options = {**defaults, **{k: v for k, v in raw.items() if k != "type"}}
        for key, value in options.items():
            if key == "base_page":
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise self.fail("paginator.base_page", f"{value!r} is not a page number", "write 0 or 1")
            elif value is not None:
                options[key] = self.text(value, f"paginator.{key}")
        return Paginator(kind, options)

    def incremental(self, raw) -> Incremental:
        raw = self.mapping(raw, "incremental")
        self.keys(raw, "incremental", INCREMENTAL_KEYS)
        return Incremental(
            self.text(raw.get("start_param", "updated_since"), "incremental.start_param"),
            self.choice(raw.get("format", "iso8601"), "incremental.format", INCREMENTAL_FORMATS),
            self.text(raw["cursor_path"], "incremental.cursor_path") if raw.get("cursor_path") is not None else None)

    def rate_limit(self, raw) -> float:
        raw = self.mapping(raw, "rate_limit")
        self.keys(raw, "rate_limit", ("requests_per_second",))
        value = raw.get("requests_per_second")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise self.fail("rate_limit.requests_per_second", f"{value!r} is not a positive number",
                            "write how many requests a second the API allows, e.g. 10")
        return float(value)

    def resources(self, raw, system: str, default_selector: str, incremental: Incremental) -> dict[str, Resource]:
        entities = {e.name: e for e in entities_of(system)}
        raw = self.mapping(raw if raw is not None else {}, "resources")
        out = {}
        for name, spec in raw.items():
            where = f"resources.{name}"
            if name not in entities:
                raise self.fail(where, f"{system} has no entity {name!r} in the catalogue",
                                f"use one of {', '.join(entities) or '(none)'} "
                                "(entities are declared in cem_pipeline/sources/catalog.py)")
            spec = self.mapping(spec if spec is not None else {}, where)
            self.keys(spec, where, RESOURCE_KEYS)
            path = self.text(spec.get("path", entities[name].path), f"{where}.path")
            if not path.startswith("/"):
                raise self.fail(f"{where}.path", f"{path!r} does not start with /", "write the path under the base URL")
            out[name] = Resource(path, self.selector(spec.get("data_selector", default_selector), f"{where}.data_selector"),
                                 self.rename(spec.get("rename"), entities[name], where))
        for name, ent in entities.items():
            resource = out.get(name) or Resource(ent.path, default_selector, {})
            rename = dict(resource.rename)
            if incremental.cursor_path and incremental.cursor_path != ent.cursor_field:
                if rename.get(incremental.cursor_path, ent.cursor_field) != ent.cursor_field:
                    raise self.fail(f"resources.{name}.rename.{incremental.cursor_path}",
                                    f"incremental.cursor_path names it as the cursor `{ent.cursor_field}`",
                                    "drop the rename or change incremental.cursor_path")
                rename[incremental.cursor_path] = ent.cursor_field
            out[name] = Resource(resource.path, resource.data_selector, rename)
        return out

    def selector(self, value, where: str) -> str:
        text = self.text(value, where)
        if text != ROOT and not all(re.fullmatch(r"[A-Za-z0-9_\-]+", part) for part in text.split(".")):
            raise self.fail(where, f"{text!r} is not a path into the response",
                            "write the keys down to the list of records joined by dots (e.g. data or "
                            f"result.items), or {ROOT} when the body is the list itself")
        return text

    def rename(self, raw, ent, where: str) -> dict[str, str]:
        raw = self.mapping(raw if raw is not None else {}, f"{where}.rename")
        known = [f.name for f in ent.fields]
        seen: dict[str, str] = {}
        for source, target in raw.items():
            at = f"{where}.rename.{source}"
            target = self.text(target, at)
            if target not in known:
                close = difflib.get_close_matches(target, known, n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                raise self.fail(at, f"maps to `{target}`, which {ent.name} does not have in the catalogue",
                                f"{hint}map to one of {', '.join(known)}, or add the field to "
                                "cem_pipeline/sources/catalog.py")
            if target in seen:
                raise self.fail(at, f"`{seen[target]}` maps to `{target}` already", "map each catalogue field once")
            seen[target] = str(source)
        return {str(k): v.strip() for k, v in raw.items()}


def parse_declaration(text: str, file: str, system: str) -> SourceDeclaration:
    """One file's declaration; DeclarationError on anything wrong in it."""
    check = _Checker(file)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DeclarationError(f"{file}: not valid YAML ({exc}). Fix the syntax (indentation, quotes).") from None
    raw = check.mapping(raw if raw is not None else {}, "(top level)")
    check.keys(raw, "", TOP_KEYS)
    if raw.get("system", system) != system:
        raise check.fail("system", f"says {raw['system']!r} but the file is named {system}.yaml",
                         "name the file after the system, or drop `system`")
    if system not in catalog.SYSTEMS:
        raise check.fail("(file name)", f"{system!r} is not a source system of the catalogue",
                         f"name the file one of {', '.join(s + '.yaml' for s in catalog.SYSTEMS)}, or add the system "
                         "to cem_pipeline/sources/catalog.py")
    if "base_url" not in raw and "base_url_env" not in raw:
        raise check.fail("base_url", "missing", "add `base_url: https://...` or `base_url_env: <VARIABLE>`")
    for required in ("auth", "paginator"):
        if required not in raw:
            raise check.fail(required, "missing", f"add the `{required}` section (README \"Connecting your systems\")")
    incremental = check.incremental(raw["incremental"]) if raw.get("incremental") is not None else Incremental()
    selector = check.selector(raw.get("data_selector", "data"), "data_selector")
    return SourceDeclaration(
        system, file,
        check.url(raw["base_url"], "base_url") if raw.get("base_url") is not None else None,
        check.env_names(raw["base_url_env"], "base_url_env") if raw.get("base_url_env") is not None else (),
        check.auth(raw["auth"]), check.paginator(raw["paginator"]), incremental,
        check.resources(raw.get("resources"), system, selector, incremental),
        check.rate_limit(raw["rate_limit"]) if raw.get("rate_limit") is not None else None,
    )


def _shown(path: Path) -> str:
    """The path as messages show it: relative to the working directory when it is under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_declarations(folder: Path) -> dict[str, SourceDeclaration]:
    """Every ``<system>.yaml`` in ``folder`` (not its subfolders), checked; systems without one get the default."""
    out = {}
    if folder.exists() and not folder.is_dir():
        raise DeclarationError(f"{folder}: not a folder. Fix: point CEM_SOURCES_DIR at the folder of <system>.yaml files.")
    for path in sorted(folder.glob("*.yml")) if folder.is_dir() else ():
        raise DeclarationError(f"{path}: source declarations end in .yaml. Fix: rename it to {path.stem}.yaml.")
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
        out[path.stem] = parse_declaration(path.read_text(encoding="utf-8"), _shown(path), path.stem)
    return {system: out.get(system) or default_declaration(system) for system in catalog.SYSTEMS}
