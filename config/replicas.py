"""Which server answers a read: a healthy read replica where that is safe, else the primary.

Replicas are the DATABASES aliases listed in settings.DATABASE_REPLICAS (from
DATABASE_REPLICA_URLS). A read may go to one only inside a read scope: `replica_reads()`, which
ReplicaReadsMiddleware opens for GET and HEAD requests outside the admin. Everything else reads
the primary: POSTs and the admin (they read what they just wrote), the task worker, management
commands, migrations, the evaluation, and any code inside a transaction on the primary.

A scope picks one server on its first read and keeps it (one request, one connection). When a
replica cannot be reached (it refuses the connection, or a query finds the connection gone), it
is marked down for DATABASE_REPLICA_DOWN_SECONDS in this process and reads move to the next
replica or the primary; `with_replica_fallback` runs a whole read-only function again there, so
the caller gets an answer rather than the error. A query a live replica refuses (a conflict
with WAL replay) sends the rest of the scope to the primary without marking the replica down.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class _ReadScope:
    alias: str | None = None  # chosen on the first read, kept for the rest of the scope


_scope: ContextVar[_ReadScope | None] = ContextVar("replica_read_scope", default=None)
_down_until: dict[str, float] = {}  # alias -> time.monotonic() when it may be tried again
_down_lock = threading.Lock()
_turn = itertools.count()  # rotates the first choice so replicas share the load


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Let the reads inside go to a replica (they may then lag the primary by the replay delay)."""
    token = _scope.set(_ReadScope())
    try:
        yield
    finally:
        _scope.reset(token)


@contextlib.contextmanager
def primary_reads() -> Iterator[None]:
    """Read from the primary inside, even within a read scope (e.g. to read one's own write)."""
    token = _scope.set(None)
    try:
        yield
    finally:
        _scope.reset(token)


def read_alias() -> str:
    """The alias a read should use now: the scope's replica, or the primary."""
    scope = _scope.get()
    if scope is None or not settings.DATABASE_REPLICAS or _in_transaction_on_primary():
        return DEFAULT_DB_ALIAS
    if scope.alias is None or is_down(scope.alias):
        scope.alias = _connect_to_a_replica()
    return scope.alias


def read_connection() -> BaseDatabaseWrapper:
    """The connection a read should use now (see read_alias)."""
    return connections[read_alias()]


def with_replica_fallback(func: Callable[P, R]) -> Callable[P, R]:
    """Run a read-only function on the scope's replica; if it fails there, run it again elsewhere.

    A replica whose connection is lost is marked down, and the function runs again on the next
    replica or the primary. A query the replica itself refused (cancelled by a conflict with
    WAL replay, a statement timeout) leaves the replica in service: the rest of this scope reads
    the primary. Only for functions that do nothing but read: they may run more than once.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for _ in range(len(settings.DATABASE_REPLICAS)):
            used = read_alias()  # what func will read from: the scope keeps it
            if used == DEFAULT_DB_ALIAS:
                break  # the primary failing is not something a replica can answer for
            try:
                return func(*args, **kwargs)
            except (OperationalError, InterfaceError) as exc:
                scope = _scope.get()
                if _connection_lost(used):
                    mark_down(used, exc)
                    scope.alias = None  # the next replica, or the primary
                    # Broken or half-open: drop it so a later try connects afresh.
                    with contextlib.suppress(DatabaseError):
                        connections[used].close()
                else:
                    logger.warning(
                        "query refused by read replica %r (%s); answering from the primary",
                        used,
                        _first_line(exc),
                    )
                    scope.alias = DEFAULT_DB_ALIAS
        return func(*args, **kwargs)

    return wrapper


def is_down(alias: str) -> bool:
    with _down_lock:
        until = _down_until.get(alias)
        if until is None:
            return False
        if time.monotonic() >= until:
            del _down_until[alias]
            return False
        return True


def mark_down(alias: str, error: Exception) -> None:
    """Stop sending reads to a replica for DATABASE_REPLICA_DOWN_SECONDS (in this process)."""
    seconds = settings.DATABASE_REPLICA_DOWN_SECONDS
    with _down_lock:
        already = _down_until.get(alias, 0.0) > time.monotonic()
        _down_until[alias] = time.monotonic() + seconds
    if not already:
        logger.warning(
            "read replica %r failed (%s); reading from the others or the primary for %d s",
            alias,
            _first_line(error),
            seconds,
        )


def forget_down_replicas() -> None:
    """Try every replica again on the next read (tests; an operator after fixing one)."""
    with _down_lock:
        _down_until.clear()


def _connect_to_a_replica() -> str:
    replicas = list(settings.DATABASE_REPLICAS)
    start = next(_turn) % len(replicas)
    for alias in replicas[start:] + replicas[:start]:
        if is_down(alias):
            continue
        connection = connections[alias]
        try:
            # A connection kept from before (outside a request, or CONN_MAX_AGE) may have died
            # with its server: Django's own request-start check, then connect if needed.
            connection.close_if_unusable_or_obsolete()
            connection.ensure_connection()
        except (OperationalError, InterfaceError) as exc:
            mark_down(alias, exc)
            continue
        if _mark_down_on_failure not in connection.execute_wrappers:
            connection.execute_wrappers.append(_mark_down_on_failure)
        return alias
    return DEFAULT_DB_ALIAS


def _mark_down_on_failure(execute, sql, params, many, context):
    """An ORM read that fails on a replica cannot be run again here (the view gets the error),
    but if the replica is gone the next reads in this process go elsewhere."""
    try:
        return execute(sql, params, many, context)
    except OperationalError as exc:
        alias = context["connection"].alias
        if _connection_lost(alias):
            mark_down(alias, exc)
        raise


def _connection_lost(alias: str) -> bool:
    """Whether a replica's connection is gone (server down, network cut), as opposed to one
    query refused on a live connection. Costs one SELECT 1, only after a failure."""
    connection = connections[alias]
    return connection.connection is None or not connection.is_usable()


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def _in_transaction_on_primary() -> bool:
    # Inside atomic() on the primary a read must see that transaction's own writes.
    return connections[DEFAULT_DB_ALIAS].in_atomic_block


class ReplicaReadsMiddleware:
    """GET and HEAD requests outside the admin may read from a replica; others read the primary."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or request.path.startswith(_admin_prefix()):
            return self.get_response(request)
        with replica_reads():
            return self.get_response(request)


@functools.cache
def _admin_prefix() -> str:
    try:
        return reverse("admin:index")
    except NoReverseMatch:
        return "/admin/"
