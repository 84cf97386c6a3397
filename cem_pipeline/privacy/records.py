"""The privacy gate for one source record: tokens and display masks for identifiers, redaction for text.

``mask_record(entity, record, tokenizer, counts=None) -> dict`` returns a new dict (the input is never
mutated), driven by the catalogue's ``Field.pii`` roles:

- identifier roles (the kinds of :mod:`cem_pipeline.privacy.kinds`: phone, e-mail, name, WeChat id,
  member id, social handle, nickname, masked phone): ``<field>_token`` = keyed token and ``<field>`` =
  masked display form (``138****8000``, ``张*``). A kind with a ``masked_token_kind`` (phone) also gets
  ``<field>_masked_token``: the token of its masked form (``138****8000``), the same token a review's
  source-masked ``buyer_phone_masked_token`` has, so identity resolution can use it as weak evidence.
- ``free_text``: PII inside the text replaced by placeholders; for the calls' ``turns`` (a list of
  dicts) each turn's ``text`` is redacted and the other turn keys are kept.
- fields without a role pass through unchanged; fields the catalogue does not know (a source's new
  field) pass through with :func:`redact_text` applied to every string inside them, to be safe.
  Keys starting with ``_`` are pipeline metadata (``_load_id``...) and pass through unchanged; do not
  pass the raw record's JSON blob through this function, it is not part of the masked layer.

Counting: pass a dict as ``counts`` and it is incremented in place: redactions by kind (``phone``,
``email``, ``id_number``, ``bank_card``, ``qq``, ``passport``, ``travel_permit``, ``licence_plate``,
``address``, ``name``) plus ``tokenized`` (identifier fields turned into tokens).
:func:`mask_records` does a batch and returns ``(records, counts)``.
"""

from __future__ import annotations

from functools import lru_cache

from cem_pipeline.privacy.kinds import BY_NAME, PiiKind, display_mask, redact_into
from cem_pipeline.privacy.tokens import Tokenizer
from cem_pipeline.sources import catalog as C

TOKENIZED = "tokenized"


@lru_cache(maxsize=None)
def _roles(entity_name: str) -> dict[str, PiiKind | str | None]:
    """Field -> its PII kind (or FREE_TEXT, or None); a role that is no registered kind fails here, loudly."""
    out: dict[str, PiiKind | str | None] = {}
    for f in C.entity(entity_name).fields:
        if f.pii is None or f.pii == C.FREE_TEXT:
            out[f.name] = f.pii
        elif f.pii in BY_NAME and BY_NAME[f.pii].mask is not None:
            out[f.name] = BY_NAME[f.pii]
        else:
            raise ValueError(f"{entity_name}.{f.name}: pii={f.pii!r} is neither {C.FREE_TEXT!r} nor a PII kind with "
                             f"a display mask in cem_pipeline/privacy/kinds.py")
    return out


def _redact_any(value, counts: dict):
    """Redact every string inside ``value`` (str, list, dict, nested); other values unchanged."""
    if isinstance(value, str):
        return redact_into(value, counts)
    if isinstance(value, list):
        return [_redact_any(v, counts) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact_any(v, counts) for v in value)
    if isinstance(value, dict):
        return {k: _redact_any(v, counts) for k, v in value.items()}
    return value


def _redact_turns(turns, counts: dict):
    if not isinstance(turns, list):
        return _redact_any(turns, counts)
    out = []
    for turn in turns:
        if isinstance(turn, dict):
            new = dict(turn)
            for key, v in turn.items():
                if key == "text":
                    new[key] = redact_into(v, counts) if isinstance(v, str) else _redact_any(v, counts)
                elif isinstance(v, (str, list, dict)) and key not in ("speaker", "turn", "offset_s"):
                    new[key] = _redact_any(v, counts)
            out.append(new)
        else:
            out.append(_redact_any(turn, counts))
    return out


def mask_record(entity: C.Entity | str, record: dict, tokenizer: Tokenizer, counts: dict | None = None) -> dict:
    """The masked copy of one source record (see the module docstring for what each role becomes)."""
    name = entity if isinstance(entity, str) else entity.name
    roles = _roles(name)
    if counts is None:
        counts = {}
    out: dict = {}
    for key, value in record.items():
        if key in roles:
            role = roles[key]
            if role is None:
                out[key] = value
            elif role == C.FREE_TEXT:
                if isinstance(value, str):
                    out[key] = redact_into(value, counts)
                elif key == "turns":
                    out[key] = _redact_turns(value, counts)
                else:
                    out[key] = _redact_any(value, counts)
            elif _tokenize_into(out, role, key, value, tokenizer) is not None:
                counts[TOKENIZED] = counts.get(TOKENIZED, 0) + 1
        elif key.startswith("_"):
            out[key] = value
        else:
            out[key] = _redact_any(value, counts)
    return out


def _tokenize_into(out: dict, role: PiiKind, key: str, value, tokenizer: Tokenizer) -> str | None:
    """An identifier field's masked display, ``<key>_token`` and (for phones) ``<key>_masked_token`` into ``out``;
    returns the token."""
    if isinstance(value, (list, dict)):  # an identifier field should hold a scalar
        value = str(value)
    token = tokenizer.token(role.name, value)
    out[key] = role.mask(value)
    out[f"{key}_token"] = token
    if role.masked_token_kind:
        masked = out[key]
        out[f"{key}_masked_token"] = tokenizer.token(role.masked_token_kind, masked) if masked else None
    return token


def identifier_tokens(entity: C.Entity | str, record: dict, tokenizer: Tokenizer) -> dict[str, str | None]:
    """The token columns :func:`mask_record` gives ``record`` (``<field>_token``, ``<field>_masked_token``) without
    redacting its texts: what a key rotation maps from old to new (cem_pipeline.privacy.rotation)."""
    roles = _roles(entity if isinstance(entity, str) else entity.name)
    out: dict = {}
    for key, value in record.items():
        role = roles.get(key)
        if isinstance(role, PiiKind):
            _tokenize_into(out, role, key, value, tokenizer)
    return {k: v for k, v in out.items() if k.endswith("_token")}


def mask_records(entity: C.Entity | str, records, tokenizer: Tokenizer) -> tuple[list[dict], dict[str, int]]:
    """Mask a batch; returns the masked records and the summed counts."""
    counts: dict[str, int] = {}
    return [mask_record(entity, r, tokenizer, counts) for r in records], counts


def output_columns(entity: C.Entity | str) -> tuple[str, ...]:
    """The columns a masked record of ``entity`` has (catalogue fields plus the added token columns)."""
    ent = C.entity(entity) if isinstance(entity, str) else entity
    cols: list[str] = []
    for f in ent.fields:
        cols.append(f.name)
        if f.pii and f.pii != C.FREE_TEXT:
            cols.append(f"{f.name}_token")
            if BY_NAME[f.pii].masked_token_kind:
                cols.append(f"{f.name}_masked_token")
    return tuple(cols)
