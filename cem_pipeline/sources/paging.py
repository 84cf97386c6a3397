"""The paginators of a source declaration: which request comes first, and which one follows a page.

A page's *state* is the text that requests it again, stored with every landed row (``raw._page_cursor``) and
accepted by ``SourceClient.pages(resume=...)``: the cursor itself (``cursor``), the next URL (``json_link``,
``header_link``), or the JSON of the query (``offset``, ``page_number``: the offset or page number with the
incremental parameter, so the resumed pages are cut from the same query).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from cem_pipeline.sources.declaration import ROOT, Incremental, Paginator
from cem_pipeline.timestamps import parse_source_ts

CLIENT_PAGED = ("offset", "page_number")  # the client computes the next page; the others follow the source


@dataclass(frozen=True)
class PageRequest:
    url: str
    params: dict


def select(body, path: str):
    """The value at a dotted ``path`` in a JSON body (``$``: the body itself); None where it is missing."""
    if path == ROOT:
        return body
    for key in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def since_value(watermark: str, incremental: Incremental) -> str:
    """The watermark (an ISO-8601 text with offset, as the records carry it) in the format the API takes."""
    if incremental.format == "iso8601":
        return watermark
    ts = parse_source_ts(watermark)
    if ts is None:
        raise ValueError(f"the watermark {watermark!r} is not an ISO-8601 timestamp with an offset")
    if incremental.format == "iso8601_utc":
        return ts.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    seconds = ts.timestamp()
    return str(int(seconds * 1000) if incremental.format == "epoch_ms" else int(seconds))


def without_param(url: str, name: str | None) -> str:
    """``url`` less the query parameter ``name`` (a secret a next link must not carry into raw)."""
    if not name:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode(query)))


class Pager:
    """One paginator applied to one entity's URL."""

    def __init__(self, paginator: Paginator, incremental: Incremental, url: str, page_size: int,
                 secret_param: str | None = None):
        self.p, self.incremental, self.url, self.page_size = paginator, incremental, url, page_size
        self.secret_param = secret_param

    def first(self, updated_since: str | None) -> tuple[PageRequest, str | None]:
        """The first request, and its state where it has one worth storing (offset, page number)."""
        since = {self.incremental.start_param: since_value(updated_since, self.incremental)} if updated_since else {}
        kind = self.p.type
        if kind == "offset":
            return self._query_state({self.p.offset_param: 0, self.p.limit_param: self.page_size, **since})
        if kind == "page_number":
            return self._query_state({self.p.page_param: self.p.base_page, self.p.page_size_param: self.page_size,
                                      **since})
        return PageRequest(self.url, {self.p.page_size_param: self.page_size, **since}), None

    def _query_state(self, params: dict) -> tuple[PageRequest, str]:
        return PageRequest(self.url, params), json.dumps(params, sort_keys=True)

    def resume(self, state: str) -> PageRequest:
        """The request that fetches the page ``state`` names again."""
        kind = self.p.type
        if kind == "cursor":
            return PageRequest(self.url, {self.p.cursor_param: state, self.p.page_size_param: self.page_size})
        if kind in CLIENT_PAGED:
            try:
                params = json.loads(state)
            except ValueError:
                raise ValueError(f"{state!r} is not the state of an {kind} page (a JSON query)") from None
            return PageRequest(self.url, params)
        return PageRequest(state, {})  # a next link, complete

    def next_state(self, request: PageRequest, response, body, records: list) -> str | None:
        """The state of the page after this one, or None at the end."""
        kind = self.p.type
        if kind == "cursor":
            cursor = select(body, self.p.cursor_path)
            return None if cursor in (None, "") else str(cursor)
        if kind in ("json_link", "header_link"):
            link = (select(body, self.p.next_url_path) if kind == "json_link"
                    else response.links.get(self.p.links_next_key, {}).get("url"))
            return without_param(urljoin(response.url, link), self.secret_param) if link else None
        total = select(body, self.p.total_path) if self.p.total_path else None
        params = dict(request.params)
        if kind == "offset":
            offset = int(params[self.p.offset_param]) + int(params[self.p.limit_param])
            done = offset >= int(total) if total is not None else len(records) < int(params[self.p.limit_param])
            params[self.p.offset_param] = offset
        else:
            page = int(params[self.p.page_param])
            done = (page - self.p.base_page + 1 >= int(total) if total is not None
                    else len(records) < int(params[self.p.page_size_param]))
            params[self.p.page_param] = page + 1
        return None if done else json.dumps(params, sort_keys=True)
