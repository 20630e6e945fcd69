"""The embedding worker's heartbeat: a row in ops_workerheartbeat, written every
HEARTBEAT_SECONDS by a thread of `manage.py db_worker`, so /healthz can tell a worker that is
alive but idle (no task rows to show for it) from one that is gone."""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15
# /healthz counts a worker as seen when its heartbeat is younger than this: a few beats missed
# (a long database stall) are not yet a dead worker.
SEEN_WITHIN_SECONDS = 4 * HEARTBEAT_SECONDS

BEAT = """
INSERT INTO ops_workerheartbeat (worker, seen) VALUES (%s, now())
ON CONFLICT (worker) DO UPDATE SET seen = now()
"""
# A worker that stopped leaves its row; rows a day old are dropped on the next beat.
FORGET = "DELETE FROM ops_workerheartbeat WHERE seen < now() - interval '1 day'"


def start() -> threading.Event:
    """Beat now, then every HEARTBEAT_SECONDS until the returned event is set (or the process
    exits: the thread is a daemon)."""
    stop = threading.Event()
    name = f"{socket.gethostname()}:{os.getpid()}"
    _beat_once(name)
    threading.Thread(target=_beat, args=(name, stop), name="heartbeat", daemon=True).start()
    return stop


def _beat(name: str, stop: threading.Event) -> None:
    try:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                _beat_once(name)
            except DatabaseError:
                logger.warning("worker heartbeat not written", exc_info=True)
                connection.close()  # reconnect on the next beat
    finally:
        connection.close()  # this thread's own connection


def _beat_once(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(BEAT, [name])
        cursor.execute(FORGET)


def last_seen_seconds() -> float | None:
    """Seconds since any worker's last heartbeat; None if none ever beat."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM now() - max(seen)) FROM ops_workerheartbeat")
        (seconds,) = cursor.fetchone()
    return None if seconds is None else float(seconds)
