"""The one HTTP client every source connector uses.

A ``requests`` session with urllib3's ``Retry`` (exponential backoff, honours ``Retry-After``,
retries connect and read timeouts and 429/5xx), API-key auth, and cursor paging. A page whose body
is truncated or not valid JSON is fetched again with the same backoff; a page is only ever handed
on whole.
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

from cem_pipeline.config import PREFIX, HttpSettings, SourceSettings
from cem_pipeline.sources.catalog import Entity

log = logging.getLogger(__name__)
RETRY_STATUSES = (429, 500, 502, 503, 504)


class SourceError(RuntimeError):
    """A source could not be read; the message says what to check."""


class SourceAuthError(SourceError):
    pass


@dataclass(frozen=True)
class Page:
    records: list[dict]
    cursor: str | None  # the cursor this page was requested with (None for the first page)
    next_cursor: str | None
    page_no: int


class SourceClient:
    """Reads the entities of one source system."""

    def __init__(self, source: SourceSettings, http: HttpSettings, session: requests.Session | None = None):
        self.source = source
        self.http = http
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
        self.session.headers.update({"X-API-Key": source.api_key, "Accept": "application/json",
                                     "User-Agent": "cem-pipeline/0.1"})
        self.unparsable_pages = 0  # truncated or invalid bodies fetched again

    def _var(self, what: str) -> str:
        return f"{PREFIX}{self.source.system.upper()}_{what}"

    def _get(self, url: str, params: dict) -> dict:
        """GET one page, retrying transport faults (urllib3) and unparsable bodies (here)."""
        attempts = self.http.max_retries + 1
        for attempt in range(attempts):
            try:
                response = self.session.get(
                    url, params=params, timeout=(self.http.connect_timeout_s, self.http.read_timeout_s))
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
                    f"Check {self._var('BASE_URL')} (or {PREFIX}SOURCE_BASE_URL) and that the service is up."
                ) from exc
            except requests.exceptions.Timeout as exc:
                raise SourceError(
                    f"{url} timed out after {self.http.max_retries} retries; raise {PREFIX}HTTP_READ_TIMEOUT "
                    "if the source is slow.") from exc
            if response.status_code in (401, 403):
                raise SourceAuthError(
                    f"{self.source.system} refused the API key (HTTP {response.status_code}). "
                    f"Set {self._var('API_KEY')} (or {PREFIX}SOURCE_API_KEY) to a valid key.")
            if response.status_code in RETRY_STATUSES:
                raise SourceError(f"{url} still answered HTTP {response.status_code} after "
                                  f"{self.http.max_retries} retries.")
            if response.status_code >= 400:
                raise SourceError(f"{url} answered HTTP {response.status_code}: {response.text[:300]}")
            try:
                body = orjson.loads(response.content)
                if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                    raise ValueError("no 'data' list in the body")
                return body
            except (orjson.JSONDecodeError, ValueError) as exc:
                self.unparsable_pages += 1
                log.warning("unparsable page from %s (%s); fetching it again", url, exc)
                if attempt + 1 < attempts:
                    time.sleep(min(self.http.backoff_max_s, self.http.backoff_factor_s * 2 ** attempt))
        raise SourceError(f"{url} returned an unparsable body {attempts} times in a row.")

    def pages(self, entity: Entity, updated_since: str | None = None) -> Iterator[Page]:
        """Every page of ``entity`` changed after ``updated_since``, in order, until the end."""
        url = self.source.base_url + entity.path
        cursor: str | None = None
        page_no = 0
        while True:
            params = {"limit": self.http.page_size}
            if cursor:
                params["cursor"] = cursor
            elif updated_since:
                params["updated_since"] = updated_since
            body = self._get(url, params)
            next_cursor = body.get("next_cursor")
            yield Page(body["data"], cursor, next_cursor, page_no)
            if not next_cursor:
                return
            cursor = next_cursor
            page_no += 1
