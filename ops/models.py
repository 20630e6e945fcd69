"""State that every web process and worker share, kept in PostgreSQL.

Both tables are UNLOGGED (migration 0001): they are written on every request or every few
seconds, and losing them in a crash costs nothing (a fresh rate-limit bucket, a heartbeat that
comes back with the worker), so they skip the WAL.
"""

from __future__ import annotations

from django.db import models


class RateLimitBucket(models.Model):
    """One token bucket per client address (ops.ratelimit): tokens left when last updated."""

    client = models.CharField(max_length=64, primary_key=True)
    tokens = models.FloatField()
    updated = models.DateTimeField()
    allowed = models.BooleanField()  # whether the request that last updated it was let through


class WorkerHeartbeat(models.Model):
    """When each embedding worker (db_worker) last said it was alive, for /healthz."""

    worker = models.CharField(max_length=200, primary_key=True)
    seen = models.DateTimeField()
