"""An HTTP client for a FOLIO (Okapi) API: tenant, token and its renewal, retries.

One ``httpx.Client`` carries every request of a night (one connection, kept alive). Each
request sends ``X-Okapi-Tenant`` and ``X-Okapi-Token``; with a username the token comes from
``POST /authn/login-with-expiry`` (the ``folioAccessToken`` cookie; ``/authn/login`` on an older
FOLIO) and is fetched again before it expires or when the API answers 401. A page failing with a
5xx, a 429, a timeout, a dropped connection or a truncated body is retried by tenacity with
exponential back-off, waiting what ``Retry-After`` asks for when the API says; an error a retry
cannot fix (400, 401 with a fixed token, 403, 404) stops at once with one message.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import tenacity

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # tries per page before the run stops (resumable from the checkpoint)
BACKOFF_SECONDS = 0.5  # first wait after a failure; doubled after each further failure
TIMEOUT_SECONDS = 30.0  # a page slower than this is abandoned and retried
# The longest Retry-After honoured; an API asking for more is waited this long.
MAX_RETRY_AFTER_SECONDS = 300.0
# A token this close to its expiry is renewed before the request rather than refused after it.
TOKEN_MARGIN = timedelta(seconds=30)
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
CREDENTIALS = "LIBCRM_ILS_TOKEN (or LIBCRM_ILS_USERNAME and LIBCRM_ILS_PASSWORD)"


class IlsApiError(RuntimeError):
    """The ILS API kept failing; the message says which request and what to do."""


class IlsApiRefused(IlsApiError):
    """The ILS API refused a request in a way no retry can fix (a 4xx but 429)."""


class EndpointMissing(IlsApiRefused):
    """The API answered 404: it does not offer the collection asked for."""


class _Transient(Exception):
    """A failure worth another try, with the wait the API asked for (``Retry-After``)."""

    def __init__(self, problem: str, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date; None when absent."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class IlsClient:
    """GET pages from the API over one connection, with tenant, token and retries."""

    def __init__(
        self,
        base_url: str,
        token: str = "",
        *,
        tenant: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = TIMEOUT_SECONDS,
        backoff: float = BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise IlsApiError(f"ILS API URL '{base_url}' must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json"}
        if tenant:
            headers["X-Okapi-Tenant"] = tenant
        if token:
            headers["X-Okapi-Token"] = token
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self.username, self.password = username, password
        self.expires_at: datetime | None = None
        self.backoff, self.sleep = backoff, sleep
        self.logins = 0

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> IlsClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def login(self) -> None:
        """Fetch a token for the configured user (``/authn/login-with-expiry``, else the older
        ``/authn/login``) and send it from now on."""
        body = {"username": self.username, "password": self.password}
        path = "/authn/login-with-expiry"
        response = self.http.post(path, json=body)
        if response.status_code == 404:  # a FOLIO before the Poppy release
            path = "/authn/login"
            response = self.http.post(path, json=body)
        if response.status_code in TRANSIENT_STATUS:  # busy, not a wrong password: try again
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise _Transient(f"POST {path}: HTTP {response.status_code}", wait)
        if path == "/authn/login":
            token, expiry = response.headers.get("x-okapi-token"), None
        else:
            token = response.cookies.get("folioAccessToken")
            expiry = response.json().get("accessTokenExpiration") if response.is_success else None
        if not response.is_success or not token:
            raise IlsApiRefused(
                f"POST {self.base_url}{path}: HTTP {response.status_code}, no token; check "
                "LIBCRM_ILS_USERNAME, LIBCRM_ILS_PASSWORD and LIBCRM_ILS_TENANT"
            )
        self.http.headers["X-Okapi-Token"] = token
        self.expires_at = datetime.fromisoformat(expiry.replace("Z", "+00:00")) if expiry else None
        self.logins += 1
        log.info("logged in to %s as %s", self.base_url, self.username)

    def _token_is_due(self) -> bool:
        if not self.username:
            return False
        if "X-Okapi-Token" not in self.http.headers:
            return True
        return self.expires_at is not None and datetime.now(UTC) + TOKEN_MARGIN >= self.expires_at

    def _get(self, path: str, params: dict) -> dict:
        try:
            if self._token_is_due():
                self.login()
            response = self.http.get(path, params=params)
            if response.status_code == 401 and self.username:
                log.info("%s: token refused (expired): logging in again", path)
                self.login()
                response = self.http.get(path, params=params)
        except httpx.TransportError as error:
            raise _Transient(f"{type(error).__name__}: {error}") from None
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        if response.status_code in TRANSIENT_STATUS:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise _Transient(f"HTTP {response.status_code}", wait)
        if response.is_error:
            code = response.status_code
            hint = f"check {CREDENTIALS}" if code in (401, 403) else "check the URL"
            failure = EndpointMissing if code == 404 else IlsApiRefused
            raise failure(f"GET {url}: HTTP {code} {response.reason_phrase}; {hint}")
        try:
            return response.json()
        except json.JSONDecodeError as error:
            raise _Transient(f"truncated JSON: {error}") from None

    def _wait(self, state: tenacity.RetryCallState) -> float:
        asked = getattr(state.outcome.exception(), "retry_after", None)
        if asked is not None:
            return min(asked, MAX_RETRY_AFTER_SECONDS)
        return self.backoff * 2 ** (state.attempt_number - 1)

    def page(self, path: str, query: str, offset: int, limit: int) -> dict:
        """Return one page as parsed JSON; raise IlsApiError when it keeps failing."""
        params = {"query": query, "offset": offset, "limit": limit}
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Transient),
            stop=tenacity.stop_after_attempt(MAX_ATTEMPTS),
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=lambda state: log.warning(
                "GET %s offset %d: %s; retrying in %.1f s",
                path,
                offset,
                state.outcome.exception(),
                state.next_action.sleep,
            ),
            reraise=True,
        )
        try:
            return retrying(self._get, path, params)
        except _Transient as error:
            url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
            raise IlsApiError(
                f"GET {url}: failed {MAX_ATTEMPTS} times (last: {error}); run again later, "
                "it resumes at this page"
            ) from None
