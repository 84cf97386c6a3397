"""Whether two copies of a table hold the same rows: two dumps of one engine (bench/dump_marts.py compare),
or the same model built by DuckDB and by Spark (tests/e2e/test_spark_dbt.py).

Rows are compared as sets (sorted, never in stored order); columns by name (Spark puts partition columns
last); floats to a relative RTOL (a sum in another order differs in the last bits); every other value as
text, so an int32 and an int64, or a timestamp with and without a UTC zone, of the same value are equal.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json

import numpy as np
import pandas as pd
import pyarrow as pa

# Columns that differ between two runs of the same code on the same seed: wall-clock times (when a row was
# written or a load ran, never a fact about the data) and the arbitrary label the graph solver gives each
# connected component (customer_key, not the label, is what identity promises to keep).
VOLATILE = {"_load_id", "load_id", "_ingested_at", "gated_at", "assigned_at", "generated_at", "scored_at", "component"}
# Floats are compared to this relative tolerance: a sum in another order differs in the last bits.
RTOL = 1e-9


def _text(value) -> str | None:
    """One spelling per value, whatever the engine's type for it."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return json.dumps([_text(v) for v in value], ensure_ascii=False)
    if isinstance(value, decimal.Decimal):
        return str(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def frame(table: pa.Table, drop: set[str] = VOLATILE) -> pd.DataFrame:
    """An Arrow table (either engine's) as a frame to compare: floating and fractional decimal columns as
    float64 (NaN for null), every other column as text (None for null); the columns in ``drop`` left out.
    Zoned timestamps become their UTC wall time (Spark's timestamps at session time zone UTC)."""
    out = {}
    for field, column in zip(table.schema, table.columns):
        if field.name in drop:
            continue
        t = field.type
        if pa.types.is_floating(t) or (pa.types.is_decimal(t) and t.scale > 0):
            out[field.name] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        else:
            if pa.types.is_timestamp(t) and t.tz is not None:
                column = column.cast(pa.timestamp(t.unit))  # the UTC values, without the zone
            out[field.name] = pd.Series([_text(v) for v in column.to_pylist()], dtype=object)
    return pd.DataFrame(out)


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    """Rows in one order: by the exact columns first, then the floats (rounded well inside RTOL's
    reach), so that last-bit differences in a float never reorder rows."""
    floats = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
    keys = pd.DataFrame({c: table[c].astype(str) for c in table.columns if c not in floats})
    for c in floats:
        keys[c] = table[c].map(lambda x: "" if pd.isna(x) else f"{x:.6e}")
    order = keys.sort_values(list(keys.columns), kind="stable").index if len(keys.columns) else keys.index
    return table.loc[order].reset_index(drop=True)


def difference(a: pd.DataFrame, b: pd.DataFrame, drop: set[str] = VOLATILE) -> str | None:
    """None when ``a`` and ``b`` hold the same rows (floats to RTOL), else what differs."""
    a = a.drop(columns=[c for c in a.columns if c in drop])
    b = b.drop(columns=[c for c in b.columns if c in drop])
    if set(a.columns) != set(b.columns):
        return f"columns {sorted(set(a.columns) - set(b.columns))} only in the first, " \
               f"{sorted(set(b.columns) - set(a.columns))} only in the second"
    if len(a) != len(b):
        return f"{len(a)} vs {len(b)} rows"
    a, b = _sorted(a), _sorted(b[list(a.columns)])
    cols = []
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
            same = np.isclose(x, y, rtol=RTOL, atol=1e-12, equal_nan=True).all()
        else:
            same = x.astype(str).equals(y.astype(str))
        if not same:
            cols.append(c)
    return f"values differ in {cols}" if cols else None
