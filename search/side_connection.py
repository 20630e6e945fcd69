"""A second statement of a search, run on a connection of its own while the first one runs.

PostgreSQL runs one statement at a time per connection; on a second connection, from a thread,
two run side by side (docs/PERFORMANCE.md). search.engine runs two kinds there:
- a search by meaning filtered by organization also counts the organizations as if that filter
  were absent (so that others can be added), and likewise the categories under a category
  filter: a fused statement of its own, as long as the page's (typed phrases with the big
  organization at a million papers: 30 of 82 ms, one after the other);
- hybrid plain words walk the graph by meaning while the keyword matches are found.

Only where connections are kept between searches (CONN_MAX_AGE, 60 s in production): opening one
costs more than the statement saves. Never inside a transaction: a second connection does not see
what the first has written and not committed (a test's rolled-back transaction, a view under
ATOMIC_REQUESTS). There, and with SEARCH_SECOND_CONNECTION off (a pooler that counts
connections), the statement runs on the caller's cursor when its result is asked for, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Generic, TypeVar

from django.conf import settings
from django.db import connections

from ops.process_pool import ProcessPool
from ops.statement_timeout import statement_timeout

THREADS = 4  # statements run beside a search at once, per process

T = TypeVar("T")
Prepare = Callable[..., AbstractContextManager]

_lock = threading.Lock()
_pool = ProcessPool(THREADS, "side-statement")
_opened: set = set()  # the threads' connections (django.db.connections is per thread)


class Later(Generic[T]):
    """A statement's result, asked for when needed: from the thread, or run then and there."""

    def __init__(self, future: Future | None, run_here: Callable[[], T]):
        self._future, self._run_here = future, run_here

    def result(self) -> T:
        return self._future.result() if self._future is not None else self._run_here()


def start(cursor, job: Callable[..., T], prepare: Prepare) -> Later[T]:
    """Run job(cursor) on a second connection to the cursor's database, now, inside
    prepare(its cursor) (the session settings `cursor` has); or, where that cannot be (see the
    module's docstring), on `cursor` itself when the result is asked for."""
    if not apart(cursor):
        return here(cursor, job)
    future = _pool.submit(_on_own_connection, cursor.db.alias, job, prepare)
    return Later(future, lambda: None)


def apart(cursor) -> bool:
    """Whether start() would run a statement on a second connection (see the module's
    docstring), rather than on `cursor` itself."""
    connection = cursor.db
    kept = connection.settings_dict["CONN_MAX_AGE"] != 0
    return kept and settings.SEARCH_SECOND_CONNECTION and not connection.in_atomic_block


def here(cursor, job: Callable[..., T]) -> Later[T]:
    """job(cursor), run on `cursor` when its result is asked for."""
    return Later(None, lambda: job(cursor))


def _on_own_connection(alias: str, job: Callable[..., T], prepare: Prepare) -> T:
    connection = connections[alias]  # this thread's own
    with _lock:
        _opened.add(connection)
    # As Django does at each request: drop a connection that broke or outlived CONN_MAX_AGE
    # (and, with CONN_HEALTH_CHECKS, check it before its first statement).
    connection.close_if_unusable_or_obsolete()
    with statement_timeout(connection), connection.cursor() as cursor, prepare(cursor):
        return job(cursor)


def close_all() -> None:
    """Close the connections the threads keep, when no search runs: a test database must be
    free to drop, and a test that kept connections for a while gives them back."""
    with _lock:
        opened = list(_opened)
        _opened.clear()
    for connection in opened:
        connection.inc_thread_sharing()  # closed from this thread, not the one that opened it
        try:
            connection.close()
        finally:
            connection.dec_thread_sharing()
