"""GET /healthz: whether this web process can serve, for a load balancer to poll.

503 when the database cannot be reached or a migration is not applied (this code would fail on
the old schema); 200 otherwise, with "degraded" when no embedding worker has been seen lately
(searches still work; new papers wait to be searchable by meaning). The body says which.
"""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from ops import heartbeat
from ops.status import embedding_backlog

_migrated = False  # once every migration is applied it stays so for the life of this code


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        unapplied = _unapplied_migrations()
        if unapplied:  # the tables read below may not be there yet
            body = {"status": "down", "database": "ok", "migrations": {"unapplied": unapplied}}
            return JsonResponse(body, status=503)
        worker_seconds = heartbeat.last_seen_seconds()
        backlog = embedding_backlog()
    except DatabaseError as exc:
        error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return JsonResponse({"status": "down", "database": f"unreachable: {error}"}, status=503)
    worker_seen = worker_seconds is not None and worker_seconds < heartbeat.SEEN_WITHIN_SECONDS
    return JsonResponse(
        {
            "status": "ok" if worker_seen else "degraded",
            "database": "ok",
            "migrations": {"unapplied": []},
            "worker": {
                "seen": worker_seen,
                "seconds_since_heartbeat": None
                if worker_seconds is None
                else round(worker_seconds),
            },
            "embeddings": {
                "waiting": backlog.pending,
                "failed": backlog.failed,
                "per_second": round(backlog.rate, 2),
                "capped": backlog.capped,
            },
        }
    )


def _unapplied_migrations() -> list[str]:
    global _migrated
    if _migrated:
        return []
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    unapplied = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
    _migrated = not unapplied
    return unapplied
