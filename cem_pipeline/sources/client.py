"""The one HTTP client every source connector uses, reading each system as its declaration says.

A ``requests`` session with urllib3's ``Retry`` (exponential backoff, honours ``Retry-After``, retries
connect and read timeouts and 429/5xx), the declared auth (:mod:`auth`), paginator (:mod:`paging`), record
path, incremental parameter, client-side rate limit and field renames (:mod:`declaration`). A page whose body
is truncated, not valid JSON or has no list of records where the declaration says is fetched again with the
same backoff; a page is only ever handed on whole, its records renamed to the catalogue's field names.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Iterator

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from cem_pipeline.config import PREFIX, HttpSettings, SourceSettings, one_of_vars
from cem_pipeline.sources.auth import Auth, SourceAuthError, SourceError
from cem_pipeline.sources.catalog import Entity
from cem_pipeline.sources.declaration import default_declaration
from cem_pipeline.sources.paging import PageRequest, Pager, select

__all__ = ["Page", "SourceAuthError", "SourceClient", "SourceError"]

log = logging.getLogger(__name__)
RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Page:
    records: list[dict]
    cursor: str | None  # the state this page was requested with (None for the first page): see paging
    next_cursor: str | None  # the state of the next page; pages(resume=next_cursor) goes on from here
    page_no: int  # counted from 0 in each call of pages()


class SourceClient:
    """Reads the entities of one source system."""

    def __init__(self, source: SourceSettings, http: HttpSettings, session: requests.Session | None = None):
        self.source = source
        self.http = http
        self.declaration = source.declaration or default_declaration(source.system)
        self.session = session or requests.Session()
        retry = Retry(
            total=http.max_retries, connect=http.max_retries, read=http.max_retries, status=http.max_retries,
            backoff_factor=http.backoff_factor_s, backoff_max=http.backoff_max_s,
            status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True, raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=4)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "cem-pipeline/0.1"})
        self.timeout = (http.connect_timeout_s, http.read_timeout_s)
        self.auth = Auth(source, self.declaration, self.session, self.timeout)
        self.unparsable_pages = 0  # truncated or invalid bodies fetched again
        rate = self.declaration.requests_per_second
        self._interval = 1.0 / rate if rate else 0.0
        self._next_request_at = 0.0

    def _base_url_hint(self) -> str:
        d = self.declaration
        names = one_of_vars(d.base_url_env) if d.base_url_env else ""
        literal = f"base_url in {d.file}" if d.base_url else ""
        return " or ".join(x for x in (names, literal) if x)

    def _throttle(self) -> None:
        """Honour the declared rate limit: requests at least 1/rate seconds apart."""
        if not self._interval:
            return
        now = time.monotonic()
        if now < self._next_request_at:
            time.sleep(self._next_request_at - now)
            now = self._next_request_at
        self._next_request_at = now + self._interval

    def _send(self, url: str, params: dict) -> requests.Response:
        """One GET (urllib3 retrying transport faults), with the credentials; errors say what to check."""
        self._throttle()
        headers, query = {}, dict(params)
        self.auth.apply(headers, query)
        try:
            return self.session.get(url, params=query, headers=headers, timeout=self.timeout)
        except requests.exceptions.RetryError as exc:
            raise SourceError(f"{url} kept failing after {self.http.max_retries} retries: {exc}") from exc
        except requests.exceptions.ConnectionError as exc:
            # urllib3 reports read timeouts that ran out of retries as a connection error.
            if isinstance(getattr(exc.args[0] if exc.args else None, "reason", None), ReadTimeoutError):
                raise SourceError(
                    f"{url} timed out after {self.http.max_retries} retries; raise {PREFIX}HTTP_READ_TIMEOUT "
                    "if the source is slow.") from exc
            raise SourceError(
                f"cannot reach {self.source.system} at {self.source.base_url}: {exc.__class__.__name__}. "
                f"Check {self._base_url_hint()} and that the service is up.") from exc
        except requests.exceptions.Timeout as exc:
            raise SourceError(
                f"{url} timed out after {self.http.max_retries} retries; raise {PREFIX}HTTP_READ_TIMEOUT "
                "if the source is slow.") from exc

    def _get(self, request: PageRequest, selector: str) -> tuple[requests.Response, object, list]:
        """GET one page: (response, body, its records), retrying unparsable bodies here."""
        url = request.url
        attempts = self.http.max_retries + 1
        for attempt in range(attempts):
            response = self._send(url, request.params)
            if response.status_code == 401 and self.auth.renews:
                self.auth.renew()  # an expired or revoked token: one new token, one more try
                response = self._send(url, request.params)
            if response.status_code in (401, 403):
                raise SourceAuthError(f"{self.source.system} refused the credentials (HTTP {response.status_code}). "
                                      f"{self.auth.fix()}")
            if response.status_code in RETRY_STATUSES:
                raise SourceError(f"{url} still answered HTTP {response.status_code} after "
                                  f"{self.http.max_retries} retries.")
            if response.status_code >= 400:
                raise SourceError(f"{url} answered HTTP {response.status_code}: {response.text[:300]}")
            try:
                body = orjson.loads(response.content)
                records = select(body, selector)
                if not isinstance(records, list):
                    raise ValueError(f"no list of records at {selector!r} in the body")
                return response, body, records
            except (orjson.JSONDecodeError, ValueError) as exc:
                self.unparsable_pages += 1
                log.warning("unparsable page from %s (%s); fetching it again", url, exc)
                if attempt + 1 < attempts:
                    time.sleep(min(self.http.backoff_max_s, self.http.backoff_factor_s * 2 ** attempt))
        raise SourceError(f"{url} returned an unparsable body {attempts} times in a row.")

    def pages(self, entity: Entity, updated_since: str | None = None, resume: str | None = None) -> Iterator[Page]:
        """Every page of ``entity`` changed after ``updated_since``, in order, until the end; or, with
        ``resume`` (a page's ``next_cursor``), the pages from that one on."""
        resource = self.declaration.resource(entity)
        pager = Pager(self.declaration.paginator, self.declaration.incremental, self.source.base_url + resource.path,
                      self.http.page_size, self.auth.secret_param)
        if resume:
            request, state = pager.resume(resume), resume
        else:
            request, _ = pager.first(updated_since)
            state = None
        rename = resource.rename
        page_no = 0
        while True:
            response, body, records = self._get(request, resource.data_selector)
            next_state = pager.next_state(request, response, body, records)
            if rename:
                records = [{rename.get(k, k): v for k, v in r.items()} if isinstance(r, dict) else r
                           for r in records]
            yield Page(records, state, next_state, page_no)
            if not next_state:
                return
            request, state = pager.resume(next_state), next_state
            page_no += 1
