"""The PII-kind registry: every kind of personal data the privacy gate knows, declared once.

Per kind: its name (also the token prefix, ``phone:3fa1...``), its normalizer (the canonical form that
is tokenized, so one value in any spelling gives one token), its display mask (what a masked table
shows in a field of that kind; None for kinds met only inside text), the kind whose token of the
masked display is added as ``<field>_masked_token`` (a full phone's ``138****8000``), its placeholder
in free text and its redaction rule (a ``find_*`` pass of :mod:`cem_pipeline.privacy.redact`).

To add a kind: one entry in ``REGISTRY`` (its functions in ``normalize``/``masks``/``redact`` if no
existing one fits), then name it as ``pii="<kind>"`` on the catalogue field that holds it.

The registry's order is the order the redaction rules run in: each rule sees the text with the previous
rules' placeholders in it (e-mails before phones, so an e-mail's digits are never read as a phone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cem_pipeline.privacy import masks, redact
from cem_pipeline.privacy import normalize as norm
from cem_pipeline.privacy.redact import RedactionResult

PHONE = "phone"
EMAIL = "email"
NAME = "name"
WECHAT = "wechat_id"
MEMBER = "member_id"
HANDLE = "social_handle"
NICKNAME = "nickname"
MASKED_PHONE = "masked_phone"  # already masked by the source (138****8000); still tokenized
ID_NUMBER = "id_number"
BANK_CARD = "bank_card"
QQ = "qq"
PASSPORT = "passport"
TRAVEL_PERMIT = "travel_permit"  # HK / Macau / Taiwan travel permits (港澳通行证, 台胞证, 回乡证)
LICENCE_PLATE = "licence_plate"
ADDRESS = "address"  # Chinese and English postal addresses


@dataclass(frozen=True)
class PiiKind:
    name: str
    normalize: Callable[[object], str | None]
    mask: Callable[[object], str | None] | None = None
    masked_token_kind: str | None = None
    placeholder: str | None = None
    redact: Callable[[str, Callable[[], str]], str] | None = None
    aliases: tuple[str, ...] = ()


REGISTRY: tuple[PiiKind, ...] = (
    PiiKind(EMAIL, norm.normalize_email, masks.mask_email, placeholder="[EMAIL]", redact=redact.find_emails),
    # keyword-led numbers before the plain number kinds, so "QQ：13800138000" is a QQ number, not a phone
    PiiKind(QQ, norm.normalize_code, placeholder="[QQ]", redact=redact.find_qq_numbers),
    PiiKind(PASSPORT, norm.normalize_code, placeholder="[PASSPORT]", redact=redact.find_passports),
    PiiKind(TRAVEL_PERMIT, norm.normalize_code, placeholder="[TRAVEL_PERMIT]", redact=redact.find_travel_permits),
    PiiKind(BANK_CARD, norm.normalize_digits, placeholder="[BANK_CARD]", redact=redact.find_bank_cards),
    PiiKind(ID_NUMBER, norm.normalize_digits, placeholder="[ID_NUMBER]", redact=redact.find_id_numbers),
    PiiKind(LICENCE_PLATE, norm.normalize_code, placeholder="[LICENCE_PLATE]", redact=redact.find_licence_plates),
    PiiKind(PHONE, norm.normalize_phone, masks.mask_phone, masked_token_kind=MASKED_PHONE,
            placeholder="[PHONE]", redact=redact.find_phones),
    # after the numbers, so a phone inside an address is [PHONE]; before names (北京路8号张先生收)
    PiiKind(ADDRESS, norm.clean, placeholder="[ADDRESS]", redact=redact.find_addresses),
    # in text only the name after a salutation or in a signature: [NAME]先生, Mr. [NAME], Regards, [NAME]
    PiiKind(NAME, norm.normalize_name, masks.mask_name, placeholder="[NAME]", redact=redact.find_names),
    PiiKind(WECHAT, norm.normalize_handle, masks.mask_handle, aliases=("wechat",)),
    PiiKind(MEMBER, norm.normalize_member_id, masks.mask_member_id, aliases=("member",)),
    PiiKind(HANDLE, norm.normalize_handle, masks.mask_handle, aliases=("handle", "social")),
    PiiKind(NICKNAME, norm.normalize_handle, masks.mask_handle),
    PiiKind(MASKED_PHONE, masks.normalize_masked_phone, masks.mask_masked_phone),
)

BY_NAME: dict[str, PiiKind] = {k.name: k for k in REGISTRY}
KINDS = tuple(BY_NAME)
_ALIASES = {alias: k.name for k in REGISTRY for alias in k.aliases}
PLACEHOLDERS = {k.name: k.placeholder for k in REGISTRY if k.placeholder}


def kind(name: str) -> PiiKind:
    """The registered kind called ``name`` (or one of its aliases); ValueError naming the known ones."""
    try:
        return BY_NAME[_ALIASES.get(name, name)]
    except KeyError:
        raise ValueError(f"unknown PII kind {name!r}; known kinds: {', '.join(KINDS)}") from None


def canonical_kind(name: str) -> str:
    return kind(name).name


def normalize(kind_name: str, value) -> str | None:
    """Canonical form of ``value`` as a ``kind_name`` identifier, or None if it has none (see ``normalize.clean``)."""
    return kind(kind_name).normalize(value)


def display_mask(role: str, value) -> str | None:
    """The masked display form of ``value`` for an identifier role (``phone`` -> ``138****8000``)."""
    k = BY_NAME.get(role)
    if k is None or k.mask is None:
        roles = ", ".join(k.name for k in REGISTRY if k.mask)
        raise ValueError(f"no display mask for PII role {role!r}; roles: {roles}")
    return k.mask(value)


def _hit(counts: dict[str, int], k: PiiKind) -> Callable[[], str]:
    def hit() -> str:
        counts[k.name] = counts.get(k.name, 0) + 1
        return k.placeholder
    return hit


_RULES = tuple(k for k in REGISTRY if k.redact)


def redact_into(text: str, counts: dict[str, int]) -> str:
    """Redact ``text`` and add what was found to ``counts`` (the in-place form :func:`redact_text` wraps)."""
    if not redact.may_hold_pii(text):
        return text
    for k in _RULES:
        text = k.redact(text, _hit(counts, k))
    return text


def redact_text(text: str) -> RedactionResult:
    """Replace every kind found in text (the registry's kinds with a placeholder) by its placeholder."""
    counts: dict[str, int] = {}
    if text is None:
        return RedactionResult(text, counts)
    return RedactionResult(redact_into(text, counts), counts)
