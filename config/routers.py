"""The database router: catalogue reads may go to a read replica, everything else to the primary.

Only the papers app's models (papers, organizations) are read from replicas, and only where
config.replicas allows it (a GET outside the admin, not inside a transaction on the primary).
Sessions, users, the admin's log and the task queue always use the primary: a login, a queued
task or a task's claimed row must be read where it was just written, not a replay later.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from config.replicas import read_alias

REPLICA_APPS = frozenset({"papers"})


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        if model._meta.app_label in REPLICA_APPS:
            return read_alias()
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # Every alias is the same database (a replica is a copy of the primary).
        return True

    def allow_migrate(self, db: str, app_label: str, model_name=None, **hints) -> bool:
        # Replicas are read-only copies: the schema reaches them by replication.
        return db == DEFAULT_DB_ALIAS
