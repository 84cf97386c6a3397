"""Helpers for the privacy-operation tests (tests/e2e/test_privacy_ops.py): who to forget, what to look for, and
what a warehouse holds, read independently of the code under test."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd

from cem_pipeline import schema
from cem_pipeline.privacy import Tokenizer
from cem_pipeline.sources.catalog import ENTITIES, entity
from tests.support.scan import Needles

TOKEN = re.compile(r"\b(?:phone|email|name|member_id|wechat_id|social_handle|nickname|masked_phone):[0-9a-f]{32}\b")
TOKEN_KINDS = ("name", "phone", "email", "wechat_id", "social_handle", "nickname")


def staged_id(entity: str, record_id: str, pii: Tokenizer) -> str:
    """A source record id as staging and the identity graph hold it (members' ids are tokens)."""
    return pii.token("member_id", record_id) if entity == "crm_members" else record_id


def pick_subjects(world, now: int, warehouse: Path, pii: Tokenizer, n: int = 3) -> list[int]:
    """``n`` people the erasure can forget completely, chosen deterministically: every record of theirs
    resolves to one customer_key that holds no one else's record; none of their planted values is anyone
    else's (a family phone, a shop's e-mail, a common name would keep it in other people's records); records
    in four or more sources, a loyalty membership; the second has a phone, the third an e-mail (how they are
    asked for). The first person with a closed-loop alert comes first, so the alert ledger and outbox are
    exercised."""
    truth = world.truth_records(now)
    truth = truth[truth.person_id >= 0].copy()
    truth["staged"] = [staged_id(e, r, pii) for e, r in zip(truth.entity, truth.record_id)]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        keys = con.execute(f"SELECT entity, record_id AS staged, customer_key FROM {schema.IDENTITY_RECORD_KEYS}").df()
        alerted = {int(k) for (k,) in
                   con.execute(f"SELECT DISTINCT customer_key FROM {schema.ALERTS_TABLE}").fetchall()}
    merged = truth.merge(keys, on=["entity", "staged"], how="left")
    owners = merged.dropna(subset=["customer_key"]).groupby("customer_key").person_id.nunique()
    planted = world.planted_pii()
    holders = planted.groupby("value").person_id.nunique()
    shared = set(planted[planted.value.isin(holders[holders > 1].index)].person_id)
    fit = []
    for person, g in merged.groupby("person_id"):
        key = g.customer_key.unique()
        if (person in shared or g.customer_key.isna().any() or len(key) != 1 or owners[key[0]] != 1
                or len(g) < 6 or g.entity.nunique() < 4 or "crm_members" not in set(g.entity)):
            continue
        fit.append((int(key[0]) not in alerted, int(person)))
    order = [p for _, p in sorted(fit)]
    chosen = [order[0]]
    for needs in (world.has_phone, world.has_email)[: n - 1]:
        chosen.append(next(p for p in order if p not in chosen and needs[p]))
    return chosen


def subject_needles(world, now: int, people: list[int], tokenizers: list[Tokenizer]) -> Needles:
    """Their planted values (every format), their member ids, and the tokens of both under each key."""
    planted = world.planted_pii()
    mine = planted[planted.person_id.isin(people)]
    truth = world.truth_records(now)
    members = truth[(truth.entity == "crm_members") & truth.person_id.isin(people)].record_id.tolist()
    pairs = list(zip(mine.kind, mine.value)) + [("member_id", m) for m in members]
    for pii in tokenizers:
        pairs += [(f"token:{k}", pii.token(k, v)) for k, v in zip(mine.kind, mine.value) if k in TOKEN_KINDS]
        pairs += [("token:member_id", pii.token("member_id", m)) for m in members]
    return Needles(pairs)


def tables(warehouse: Path, schemas: tuple[str, ...] | None = None) -> dict[str, pd.DataFrame]:
    """Every base table (of ``schemas``, default all) as a frame."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                            "WHERE table_type = 'BASE TABLE' ORDER BY 1, 2").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT * FROM "{s}"."{t}"').df() for s, t in names
                if schemas is None or s in schemas}


def raw_rows(warehouse: Path) -> pd.DataFrame:
    """(entity, record_id, _load_id, _record_hash) of every raw row."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        parts = [con.execute(f"SELECT '{e.name}' AS entity, record_id, _load_id, _record_hash FROM "
                             f"{schema.raw_table(e.name)}").df() for e in ENTITIES]
    return pd.concat(parts, ignore_index=True)


def tokens_in(warehouse: Path) -> set[str]:
    """Every PII token anywhere in the warehouse (any column, inside JSON too)."""
    found = set()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for s, t in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall():
            for row in con.execute(f'SELECT * FROM "{s}"."{t}"').fetchall():
                for value in row:
                    if value is not None:
                        found.update(TOKEN.findall(str(value)))
    return found


def token_hits(paths: list[Path], tokens: set[str]) -> list[tuple[str, str]]:
    """Which of ``tokens`` occur in the bytes of these files (DuckDB files' freed blocks included)."""
    hits = []
    for path in paths:
        text = path.read_bytes().decode("latin-1")
        hits += [(str(path), t) for t in set(TOKEN.findall(text)) & tokens]
    return hits


def rewind(warehouse: Path, entities: list[str]) -> None:
    """Make the next load of each entity pull everything the source serves (a committed load whose cursor is the
    epoch): the source still serves the erased people's records."""
    at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # the ledger's times are UTC
    with duckdb.connect(str(warehouse)) as con:
        for name in entities:
            con.execute(f"INSERT INTO {schema.LOAD_LEDGER} (load_id, entity, system, status, cursor_from, cursor_to, "
                        "pages, records_served, rows_written, duplicates_skipped, started_at, finished_at) VALUES "
                        "(?, ?, ?, 'committed', NULL, '1970-01-01T00:00:00+00:00', 0, 0, 0, 0, ?, ?)",
                        [f"rewind-{name}-{at:%H%M%S%f}", name, entity(name).system, at, at])
