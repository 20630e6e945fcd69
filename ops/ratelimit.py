"""Per-client rate limits on search, API and feed requests, shared by every web process.

A token bucket per client address in PostgreSQL (ops_ratelimitbucket, UNLOGGED), taken and
refilled in one upsert, so the limit holds across gunicorn workers and hosts without another
service. RATE_LIMIT ("60/minute") is the refill rate, RATE_LIMIT_BURST how many requests a
client may make at once after a quiet spell. A refused request costs no token: a client that
keeps hammering gets in again as soon as a token has refilled.
"""

from __future__ import annotations

import logging
import math
import random

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse

from ops.limits import Limit
from ops.responses import unavailable_response

logger = logging.getLogger(__name__)

LIMITED_VIEWS = {"search", "api-search", "api-paper", "feed", "export", "cite"}  # URL names
# One request in PRUNE_EVERY deletes buckets idle for an hour (full again long since).
PRUNE_EVERY = 1000

TAKE = """
INSERT INTO ops_ratelimitbucket AS b (client, tokens, updated, allowed)
VALUES (%(client)s, %(burst)s - 1, clock_timestamp(), true)
ON CONFLICT (client) DO UPDATE SET
    tokens = CASE WHEN {refill} >= 1 THEN {refill} - 1 ELSE {refill} END,
    allowed = {refill} >= 1,
    updated = clock_timestamp()
RETURNING allowed, tokens
""".format(
    refill="least(%(burst)s, b.tokens"
    " + extract(epoch FROM clock_timestamp() - b.updated) * %(rate)s)"
)
PRUNE = "DELETE FROM ops_ratelimitbucket WHERE updated < clock_timestamp() - interval '1 hour'"


def take(client: str, limit: Limit) -> float | None:
    """Take a token for client: None when allowed, else the seconds until one is there."""
    with connection.cursor() as cursor:
        cursor.execute(TAKE, {"client": client, "burst": limit.burst, "rate": limit.rate})
        allowed, tokens = cursor.fetchone()
        if random.randrange(PRUNE_EVERY) == 0:
            cursor.execute(PRUNE)
    return None if allowed else (1 - tokens) / limit.rate


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or with PROXY_COUNT proxies in front, the address the outermost of them saw:
    X-Forwarded-For's PROXY_COUNT-th entry from the right (anything left of it, the client could
    have written itself)."""
    proxies = settings.PROXY_COUNT
    forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
    if proxies and len(forwarded) >= proxies and forwarded[-proxies]:
        return forwarded[-proxies][:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        limit = settings.RATE_LIMIT
        if limit is None or request.resolver_match.url_name not in LIMITED_VIEWS:
            return None
        try:
            wait = take(client_address(request), limit)
        except DatabaseError:
            # The view will find the database down too and answer 503; a limiter that cannot
            # count lets the request through rather than failing it for its own sake.
            logger.warning("rate limiter unavailable", exc_info=True)
            return None
        if wait is None:
            return None
        return unavailable_response(
            request,
            status=429,
            retry_after=math.ceil(wait),
            message="Too many requests from your address. Please wait a moment and try again.",
        )
