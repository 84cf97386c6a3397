"""great-expectations suites per source entity, derived from the catalogue and ``contract``.

A raw batch (the parsed JSON records of up to ``gates.BATCH_ROWS`` rows) becomes one pandas
DataFrame: per catalogue field ``f`` a value column ``f`` (typed: strings stay strings, integers and
numbers become floats, anything of the wrong JSON type becomes null there) and a ``f__type`` column
holding the JSON type the source actually sent (null when the field is missing or null); timestamps
also get ``f__utc`` (epoch seconds, null when unparsable or without an offset). GX validates that
frame from its ephemeral context with ``result_format=COMPLETE``, so each failed expectation names
the unexpected row indexes; its ``meta`` carries the quarantine rule and field.

Each expectation is built from one line of declaration (see ``build_suite``); nothing is hand-copied
per source. ``validate_frame`` runs a suite and returns ``{row index: [(rule, field), ...]}``.
"""

from __future__ import annotations

import datetime as dt
import threading
from functools import lru_cache

import numpy as np
import pandas as pd

from cem_pipeline.quality import contract
from cem_pipeline.sources.catalog import FREE_TEXT, Entity
from cem_pipeline.timestamps import parse_source_ts

JSON_TYPES = {"integer": ("integer",), "number": ("integer", "number"), "string": ("string",),
              "timestamp": ("string",), "date": ("string",), "boolean": ("boolean",),
              "json": ("array", "object")}
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"  # NUL and C0 controls; DEL occurs in real posts


def json_type(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() and value == value else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def parse_ts(value) -> float | None:
    """Epoch seconds of an ISO-8601 timestamp with an offset; None otherwise."""
    parsed = parse_source_ts(value)
    return parsed.timestamp() if parsed else None


def to_frame(entity: Entity, records: list[dict]) -> pd.DataFrame:
    """The record-level view (one row per record): typed value columns for allowed values, ranges
    and the (id, version) uniqueness. Row i is records[i]."""
    cols: dict[str, object] = {}
    for f in entity.fields:
        values = [r.get(f.name) for r in records]
        if f.type in ("string", "timestamp", "date"):
            cols[f.name] = pd.array([v if isinstance(v, str) else None for v in values], dtype=object)
        elif f.type in ("integer", "number"):
            cols[f.name] = np.array([float(v) if json_type(v) in ("integer", "number") else np.nan
                                     for v in values], dtype=float)
    return pd.DataFrame(cols)


def to_cells(entity: Entity, records: list[dict]) -> pd.DataFrame:
    """The field-level view (one row per record x catalogue field), so that one expectation checks
    a property of every field at once (GX's cost is per expectation, not per row): ``row``,
    ``field``, ``type`` (JSON type sent, null if missing), ``field_type`` (``field:type``), ``required``, ``free_text``, ``text``
    (string values), ``ts`` (timestamp text) and ``ts_utc`` (its epoch seconds, null if unparsable)."""
    fields = entity.fields
    n, width = len(records), len(fields)
    row = np.repeat(np.arange(n), width)
    field = np.tile(np.array([f.name for f in fields], dtype=object), n)
    types, field_types, texts, ts, ts_utc = [], [], [], [], []
    is_ts = [f.type == "timestamp" for f in fields]
    names = [f.name for f in fields]
    for r in records:
        for name, timestamp in zip(names, is_ts):
            v = r.get(name)
            t = json_type(v)
            types.append(t)
            field_types.append(None if t is None else f"{name}:{t}")
            if t == "string":
                texts.append(v)
                if timestamp:
                    ts.append(v)
                    parsed = parse_ts(v)
                    ts_utc.append(np.nan if parsed is None else parsed)
                    continue
            else:
                texts.append(None)
            ts.append(None)
            ts_utc.append(np.nan)
    return pd.DataFrame({
        "row": row, "field": field, "type": pd.array(types, dtype=object),
        "field_type": pd.array(field_types, dtype=object),
        "required": np.tile(np.array([f.required for f in fields]), n),
        "free_text": np.tile(np.array([f.pii == FREE_TEXT for f in fields]), n),
        "text": pd.array(texts, dtype=object), "ts": pd.array(ts, dtype=object),
        "ts_utc": np.array(ts_utc, dtype=float),
    })


def _gx():
    import great_expectations as gx  # ~4 s import: only when a gate actually runs
    import great_expectations.expectations as gxe

    return gx, gxe


Spec = tuple[str, dict, str, "str | None"]  # (GX expectation class, kwargs, rule, field or None)


def cell_specs(entity: Entity) -> list[Spec]:
    """Field-level expectations over ``to_cells``; the failing cell's ``field`` names the field."""
    allowed_types = [f"{f.name}:{t}" for f in entity.fields for t in JSON_TYPES[f.type]]
    return [
        ("ExpectColumnValuesToNotBeNull", {"column": "type", "row_condition": "required == True",
                                           "condition_parser": "pandas"}, "missing_required", None),
        ("ExpectColumnValuesToBeInSet", {"column": "field_type", "value_set": allowed_types}, "wrong_type", None),
        ("ExpectColumnValueLengthsToBeBetween", {"column": "text", "max_value": contract.MAX_FIELD_CHARS,
                                                 "row_condition": "free_text == False",
                                                 "condition_parser": "pandas"}, "text_too_long", None),
        ("ExpectColumnValueLengthsToBeBetween", {"column": "text", "max_value": contract.MAX_TEXT_CHARS,
                                                 "row_condition": "free_text == True",
                                                 "condition_parser": "pandas"}, "text_too_long", None),
        ("ExpectColumnValuesToNotMatchRegex", {"column": "text", "regex": CONTROL_CHARS},
         "control_characters", None),
        ("ExpectColumnValuesToMatchRegex", {"column": "text", "regex": r"\S", "row_condition": "required == True",
                                            "condition_parser": "pandas"}, "blank_text", None),
        ("ExpectColumnValuesToNotBeNull", {"column": "ts_utc", "row_condition": "ts.notnull()",
                                           "condition_parser": "pandas"}, "bad_timestamp", None),
        ("ExpectColumnValuesToBeBetween", {"column": "ts_utc", "max_value": {"$PARAMETER": "latest_allowed"}},
         "future_timestamp", None),
        ("ExpectColumnValuesToBeBetween", {"column": "ts_utc", "min_value": contract.EARLIEST.timestamp()},
         "timestamp_too_old", None),
    ]


def record_specs(entity: Entity) -> list[Spec]:
    """Record-level expectations over ``to_frame``: allowed values, ranges, (id, version) unique."""
    specs: list[Spec] = []
    for f in entity.fields:
        if f.allowed:
            specs.append(("ExpectColumnValuesToBeInSet", {"column": f.name, "value_set": list(f.allowed)},
                          "not_allowed_value", f.name))
    ranges = [(f.name, r.low, r.high, r.rule, None) for f in entity.fields for r in f.ranges]
    ranges += [(r.field, r.low, r.high, r.rule, r.when) for r in contract.CONDITIONAL_RANGES.get(entity.name, ())]
    for name, low, high, rule, when in ranges:
        kwargs = {"column": name}
        if low is not None:
            kwargs["min_value"] = low
        if high is not None:
            kwargs["max_value"] = high
        if when:
            kwargs.update(row_condition=f'{when[0]}=="{when[1]}"', condition_parser="pandas")
        specs.append(("ExpectColumnValuesToBeBetween", kwargs, rule, name))
    specs.append(("ExpectCompoundColumnsToBeUnique", {"column_list": [entity.id_field, entity.cursor_field],
                                                      "ignore_row_if": "any_value_is_missing"},
                  "duplicate_id_conflict", entity.id_field))
    return specs


@lru_cache(maxsize=None)
def build_suites(entity: Entity):
    """(cell suite, record suite) of the entity, as GX ExpectationSuites."""
    gx, gxe = _gx()
    _batch_definition(f"{entity.name}_fields")  # suites need the (ephemeral) context to exist
    out = []
    for level, specs in (("fields", cell_specs(entity)), ("records", record_specs(entity))):
        suite = gx.ExpectationSuite(name=f"cem_raw_{entity.name}_{level}")
        for cls, kwargs, rule, field in specs:
            suite.add_expectation(getattr(gxe, cls)(**kwargs, meta={"rule": rule, "field": field}))
        out.append(suite)
    return tuple(out)


_lock = threading.Lock()
_batch_definitions: dict[str, object] = {}


def _batch_definition(asset: str):
    with _lock:
        if asset not in _batch_definitions:
            gx, _ = _gx()
            if not _batch_definitions:
                from great_expectations.data_context.types.base import ProgressBarsConfig

                context = gx.get_context(mode="ephemeral")
                context.variables.progress_bars = ProgressBarsConfig(globally=False)
                _batch_definitions["__source__"] = context.data_sources.add_pandas("cem_raw")
            source = _batch_definitions["__source__"]
            _batch_definitions[asset] = source.add_dataframe_asset(asset) \
                .add_batch_definition_whole_dataframe("new_raw_rows")
        return _batch_definitions[asset]


class SuiteError(RuntimeError):
    """An expectation could not be evaluated: the gate must stop, not pass rows unchecked."""


def _run(asset: str, suite, frame: pd.DataFrame, params: dict):
    batch = _batch_definition(asset).get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"}, expectation_parameters=params)
    for r in result.results:
        info = r.exception_info or {}
        if info.get("raised_exception"):
            raise SuiteError(f"{asset}: {r.expectation_config.type} failed to run: {info.get('exception_message')}")
        if not r.success:
            yield r.expectation_config.meta, r.result.get("unexpected_index_list") or ()


def validate_records(entity: Entity, records: list[dict], now: dt.datetime) -> dict[int, list[tuple[str, str]]]:
    """Both suites on a batch of record dicts: {record index: [(rule, field), ...]} for failing ones."""
    if not records:
        return {}
    cell_suite, record_suite = build_suites(entity)
    params = {"latest_allowed": (now + contract.FUTURE_SLACK).timestamp()}
    failing: dict[int, list[tuple[str, str]]] = {}
    cells = to_cells(entity, records)
    rows, fields = cells["row"].to_numpy(), cells["field"].to_numpy()
    for meta, index in _run(f"{entity.name}_fields", cell_suite, cells, params):
        for i in index:
            failing.setdefault(int(rows[i]), []).append((meta["rule"], fields[i]))
    for meta, index in _run(f"{entity.name}_records", record_suite, to_frame(entity, records), params):
        for i in index:
            failing.setdefault(int(i), []).append((meta["rule"], meta["field"]))
    return failing
