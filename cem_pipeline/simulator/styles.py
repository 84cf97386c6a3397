"""How the simulator speaks: the API style of each source system, chosen per run.

``default`` is the one protocol of the simulator's first version for all five systems: ``?updated_since=
&cursor=&limit=`` -> ``{"data": [...], "next_cursor": ...}`` with an ``X-API-Key`` header. ``mixed`` serves each
system the way another kind of real API does, so that between them every paginator and auth kind of the
source declarations is exercised, with the system's own field names and record paths:

| system | paginator | auth | records at | incremental parameter |
|---|---|---|---|---|
| crm | offset / limit, ``total`` | HTTP basic | ``results`` | ``modified_since`` (ISO-8601) |
| reviews | page number (from 1), ``total_pages`` | bearer token | ``result.items`` | ``since`` (epoch seconds) |
| social | ``Link: <...>; rel="next"`` header | OAuth2 client credentials (``/oauth/token``, expiring tokens) | the body itself | ``since_ms`` (epoch ms) |
| calls | next URL in the body (``links.next``), at ``/v2/calls`` | API key in the query (``api_key``) | ``records`` | ``modified_after`` (ISO-8601, UTC ``Z``) |
| surveys | cursor in the body | ``X-API-Key`` header | ``data`` | ``updated_since`` (ISO-8601) |

``sources/mixed/*.yaml`` declares exactly this, renaming the fields back to the catalogue's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BASIC_USER = "cem"  # the simulator's HTTP basic user; the password is the API key
OAUTH_CLIENT_ID = "cem-pipeline"  # its OAuth2 client; the client secret is the API key
TOKEN_PATH = "/oauth/token"


@dataclass(frozen=True)
class SystemStyle:
    paginator: str  # cursor | json_link | header_link | offset | page_number
    auth: str  # api_key_header | api_key_query | bearer | http_basic | oauth2
    since_param: str = "updated_since"
    since_format: str = "iso8601"  # iso8601 | iso8601_utc | epoch_s | epoch_ms
    page_size_param: str = "limit"
    paths: dict[str, str] = field(default_factory=dict)  # entity -> path, where it differs from the catalogue's
    renames: dict[str, dict[str, str]] = field(default_factory=dict)  # entity -> {catalogue field: served name}


DEFAULT = SystemStyle("cursor", "api_key_header")

STYLES: dict[str, dict[str, SystemStyle]] = {
    "default": {s: DEFAULT for s in ("crm", "reviews", "social", "calls", "surveys")},
    "mixed": {
        "crm": SystemStyle("offset", "http_basic", "modified_since", renames={
            "crm_customers": {"customer_id": "id", "phone": "mobile", "email": "emailAddress",
                              "updated_at": "lastModified"},
            "crm_members": {"member_id": "id", "updated_at": "lastModified"},
            "crm_orders": {"order_id": "id", "amount": "total_amount", "updated_at": "lastModified"},
            "crm_stores": {"store_id": "id", "updated_at": "lastModified"},
        }),
        "reviews": SystemStyle("page_number", "bearer", "since", "epoch_s", "per_page", renames={
            "reviews": {"review_id": "reviewId", "rating": "stars", "text": "content", "updated_at": "updatedTime"}}),
        "social": SystemStyle("header_link", "oauth2", "since_ms", "epoch_ms", "count", renames={
            "social_posts": {"post_id": "id", "handle": "author", "text": "body", "updated_at": "edited_at"}}),
        "calls": SystemStyle("json_link", "api_key_query", "modified_after", "iso8601_utc", "page_size",
                             paths={"calls": "/v2/calls"}, renames={
            "calls": {"call_id": "callId", "caller_phone": "ani", "turns": "transcript", "updated_at": "modified"}}),
        "surveys": DEFAULT,
    },
}


def style(name: str) -> dict[str, SystemStyle]:
    try:
        return STYLES[name]
    except KeyError:
        raise ValueError(f"unknown simulator style {name!r}; use one of {', '.join(STYLES)}") from None
