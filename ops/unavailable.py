"""A search cut short by its statement timeout, or a database that cannot be reached, is a 503
with Retry-After and a message, never a traceback or a hung worker."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from ops.responses import unavailable_response

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
TIMED_OUT = "This search took too long and was stopped. Please try again, or narrow it down."
DOWN = "Search is unavailable for a moment. Please try again shortly."


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        # OperationalError covers a cancelled statement (QueryCanceled), a refused or lost
        # connection and a server shutting down; InterfaceError a connection already closed.
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        timed_out = is_statement_timeout(exception)
        logger.warning("503 for %s: %s", request.path, str(exception).splitlines()[0:1])
        return unavailable_response(
            request,
            status=503,
            retry_after=RETRY_AFTER_SECONDS,
            message=TIMED_OUT if timed_out else DOWN,
        )


def is_statement_timeout(exception: Exception) -> bool:
    import psycopg.errors

    return isinstance(exception.__cause__, psycopg.errors.QueryCanceled)
