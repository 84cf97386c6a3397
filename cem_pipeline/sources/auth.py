"""The auth kinds of a source declaration, applied to each request of the one HTTP client.

``api_key`` (a header or a query parameter), ``bearer``, ``http_basic`` and ``oauth2_client_credentials``
(a token from the token URL, fetched again shortly before it expires and once when the source answers 401).
The secrets are the values :mod:`cem_pipeline.config` read from the variables the declaration names.
"""

from __future__ import annotations

import base64
import time

import requests

from cem_pipeline.config import SourceSettings, one_of_vars


class SourceError(RuntimeError):
    """A source could not be read; the message says what to check."""


class SourceAuthError(SourceError):
    pass


class Auth:
    """Credentials of one source system: headers and query parameters for each request."""

    def __init__(self, source: SourceSettings, declaration, session: requests.Session, timeout: tuple[float, float]):
        self.source, self.spec, self.session, self.timeout = source, declaration.auth, session, timeout
        self.where = declaration.file
        self._token: str | None = None
        self._token_expires = 0.0
        self.tokens_fetched = 0

    @property
    def renews(self) -> bool:
        """Whether a 401 may be cured by fetching a new token (OAuth2), once."""
        return self.spec.type == "oauth2_client_credentials"

    @property
    def secret_param(self) -> str | None:
        """The query parameter that carries the secret, if one does (kept out of stored page states)."""
        return self.spec.name if self.spec.type == "api_key" and self.spec.location == "query" else None

    def apply(self, headers: dict, params: dict) -> None:
        kind, secret = self.spec.type, self.source.api_key
        if kind == "api_key":
            (params if self.spec.location == "query" else headers)[self.spec.name] = secret
        elif kind == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        elif kind == "http_basic":
            pair = f"{self.source.user}:{secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            headers["Authorization"] = f"Bearer {self._access_token()}"

    def renew(self) -> None:
        self._token = None

    def fix(self) -> str:
        """What to set when the source refuses the credentials."""
        secret = one_of_vars(self.spec.secret_env)
        what = {"api_key": "a valid key", "bearer": "a valid token", "http_basic": "the user's password",
                "oauth2_client_credentials": "the client's secret"}[self.spec.type]
        user = (f"; the user is {self.spec.user!r}" if self.spec.user
                else f"; the user comes from {one_of_vars(self.spec.user_env)}" if self.spec.user_env else "")
        return f"Set {secret} to {what} (auth {self.spec.type} in {self.where}{user})."

    def _token_url(self) -> str:
        url = self.spec.token_url
        return url if url.startswith(("http://", "https://")) else self.source.base_url + "/" + url.lstrip("/")

    def _access_token(self) -> str:
        if self._token is not None and time.monotonic() < self._token_expires:
            return self._token
        url = self._token_url()
        data = {"grant_type": "client_credentials", **({"scope": self.spec.scope} if self.spec.scope else {})}
        try:
            response = self.session.post(url, data=data, auth=(self.source.user, self.source.api_key),
                                         timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise SourceError(f"cannot fetch an access token for {self.source.system} from {url}: "
                              f"{exc.__class__.__name__}. Check auth.token_url in {self.where}.") from exc
        if response.status_code in (400, 401, 403):
            raise SourceAuthError(f"{self.source.system}'s token URL {url} refused the client credentials "
                                  f"(HTTP {response.status_code}: {response.text[:200]}). {self.fix()}")
        try:
            body = response.json()
            token, expires_in = body["access_token"], float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise SourceError(f"{url} answered HTTP {response.status_code} without an access_token: "
                              f"{response.text[:200]}") from None
        # Renew a little before the source would refuse it: a tenth of its life, at most 30 s.
        self._token, self._token_expires = token, time.monotonic() + expires_in - min(30.0, expires_in / 10)
        self.tokens_fetched += 1
        return token
