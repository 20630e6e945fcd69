"""A polite, patient HTTP GET for the sync sources, on the standard library's urllib.

Polite: it names itself (SYNC_USER_AGENT) and leaves SYNC_REQUEST_DELAY seconds between the
starts of two requests (arXiv asks harvesters for 3). Patient: a cut connection, a timeout or a
5xx/429 answer is tried again, up to SYNC_MAX_RETRIES times, after the wait the server asks for
in Retry-After or else an exponential backoff from SYNC_BACKOFF seconds, each wait capped at
SYNC_MAX_WAIT. Then it gives up with a SyncError that says what failed.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from django.conf import settings

from papers.sync import SyncError

logger = logging.getLogger(__name__)

# Worth another try: the server is busy, overloaded or between deploys; anything else in 4xx is
# our request's fault and would fail the same way again.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class Client:
    user_agent: str
    delay: float = 0.0
    timeout: float = 60.0
    max_retries: int = 5
    backoff: float = 2.0
    max_wait: float = 600.0
    _last_start: float | None = None

    @classmethod
    def from_settings(cls) -> Client:
        return cls(
            user_agent=settings.SYNC_USER_AGENT,
            delay=settings.SYNC_REQUEST_DELAY,
            timeout=settings.SYNC_TIMEOUT,
            max_retries=settings.SYNC_MAX_RETRIES,
            backoff=settings.SYNC_BACKOFF,
            max_wait=settings.SYNC_MAX_WAIT,
        )

    def get(self, url: str, params: dict[str, str]) -> bytes:
        """The body of a 200 answer to GET url?params, after as many tries as allowed."""
        full_url = f"{url}?{urlencode(params)}"
        tries = self.max_retries + 1
        for attempt in range(1, tries + 1):
            self._keep_delay()
            try:
                return self._get_once(full_url)
            except HTTPError as exc:
                exc.close()
                if exc.code not in RETRY_STATUSES:
                    raise SyncError(f"GET {full_url}: HTTP {exc.code} {exc.reason}") from None
                problem = f"HTTP {exc.code} {exc.reason}"
                asked = retry_after(exc.headers.get("Retry-After"))
            except (URLError, http.client.HTTPException, OSError, EOFError) as exc:
                # Refused, reset, timed out, or cut mid-body (IncompleteRead), or a gzip body cut
                # short (EOFError/BadGzipFile).
                problem = _describe(exc)
                asked = None
            if attempt == tries:
                raise SyncError(f"GET {full_url}: gave up after {tries} tries; last: {problem}")
            wait = min(self.max_wait, self.backoff * 2 ** (attempt - 1) if asked is None else asked)
            why = "backoff" if asked is None else f"Retry-After: {asked:g}"
            logger.warning(
                "GET %s: %s (try %d of %d); waiting %g s (%s)",
                full_url,
                problem,
                attempt,
                tries,
                wait,
                why,
            )
            time.sleep(wait)
        raise AssertionError("unreachable")

    def _get_once(self, full_url: str) -> bytes:
        request = Request(
            full_url, headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip"}
        )
        with urlopen(request, timeout=self.timeout) as response:
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return body

    def _keep_delay(self) -> None:
        now = time.monotonic()
        if self._last_start is not None and self.delay > 0:
            remaining = self._last_start + self.delay - now
            if remaining > 0:
                time.sleep(remaining)
                now = time.monotonic()
        self._last_start = now


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, URLError) and exc.reason is not None:
        reason = exc.reason
        return str(reason) if isinstance(reason, str) else _describe(reason)
    if isinstance(exc, http.client.IncompleteRead):
        return f"connection cut after {len(exc.partial)} bytes"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
