"""A time limit on each statement a search runs (SEARCH_STATEMENT_TIMEOUT, milliseconds).

Set on the search's connection for the search only, so imports, the worker, migrations and the
admin on the same connection are never cut short. PostgreSQL cancels a statement past it with
QueryCanceled (an OperationalError), which ops.unavailable turns into a 503. RESET goes back to
the session's own value, so a statement_timeout given in DATABASE_URL's options still holds
outside searches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError


@contextlib.contextmanager
def statement_timeout(connection) -> Iterator[None]:
    milliseconds = settings.SEARCH_STATEMENT_TIMEOUT
    if not milliseconds:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{milliseconds}ms"])
    try:
        yield
    except DatabaseError:
        # Inside a transaction the failed statement aborted it, and its rollback undoes the SET;
        # outside one the connection is still usable (or closed, and then nothing is left).
        if not connection.in_atomic_block:
            with contextlib.suppress(DatabaseError):
                _reset(connection)
        raise
    _reset(connection)


def _reset(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("RESET statement_timeout")
