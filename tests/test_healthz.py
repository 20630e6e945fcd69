"""GET /healthz, for a load balancer: 200 while the app can serve, 503 when it cannot.

The database going away is real: the app reaches PostgreSQL through a TCP relay this test runs,
and closing the relay is the database vanishing from the network, then coming back.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection

import ops.health
from ops.heartbeat import BEAT
from tests.catalogue import ROOT


def test_ok_with_a_worker_seen_and_the_backlog(client, demo_catalogue):
    with connection.cursor() as cursor:
        cursor.execute(BEAT, ["test-host:1"])
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["migrations"] == {"unapplied": []}
    assert body["worker"] == {"seen": True, "seconds_since_heartbeat": 0}
    assert body["embeddings"]["waiting"] == 0
    assert response["Cache-Control"].startswith("max-age=0")


def test_degraded_but_serving_without_a_worker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["worker"] == {"seen": False, "seconds_since_heartbeat": None}


def test_an_old_heartbeat_is_not_a_worker(client, db):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ops_workerheartbeat VALUES ('gone:1', now() - interval '5 minutes')"
        )
    assert client.get("/healthz").json()["worker"] == {
        "seen": False,
        "seconds_since_heartbeat": 300,
    }


def test_a_worker_beats_as_it_starts(manage_py_env):
    subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"],
        cwd=ROOT,
        env=manage_py_env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM ops_workerheartbeat WHERE seen > now() - interval '1 minute'"
        )
        assert cursor.fetchone()[0] == 1


def test_503_while_a_migration_is_unapplied(client, transactional_db, monkeypatch):
    monkeypatch.setattr(ops.health, "_migrated", False)
    call_command("migrate", "ops", "zero", verbosity=0)
    try:
        response = client.get("/healthz")
    finally:
        call_command("migrate", "ops", verbosity=0)
    assert response.status_code == 503
    assert response.json()["migrations"] == {"unapplied": ["ops.0001_initial"]}


class Relay:
    """TCP on a local port to the embedded server's Unix socket, that can be cut and restored."""

    def __init__(self, target: str):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
        self.listener.close()
        for sock in self.open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.open.clear()

    def restore(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            server = socket.socket(socket.AF_UNIX)
            server.connect(self.target)
            self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


# A WSGI server's part, as gunicorn plays it (Django's test Client keeps connections open
# across requests on purpose, which would hide what this test is about).
POLL = """
import json, os, sys
from wsgiref.util import setup_testing_defaults
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from config.wsgi import application
for _ in sys.stdin:
    environ = {"PATH_INFO": "/healthz", "SERVER_NAME": "127.0.0.1"}
    setup_testing_defaults(environ)
    status = []
    response = application(environ, lambda s, headers: status.append(s))
    body = json.loads(b"".join(response))
    response.close()
    print(status[0].split()[0], body["status"], flush=True)
"""


@pytest.fixture
def relay(transactional_db):
    settings = connection.settings_dict
    if not settings["HOST"].startswith("/"):
        pytest.skip("the relay reaches the embedded server by its Unix socket")
    relay = Relay(str(Path(settings["HOST"]) / f".s.PGSQL.{settings['PORT']}"))
    yield relay
    relay.cut()


def test_503_while_the_database_is_unreachable_and_200_when_it_is_back(manage_py_env, relay):
    db = connection.settings_dict
    env = {
        **manage_py_env,
        "DATABASE_URL": f"postgresql://{quote(db['USER'])}@127.0.0.1:{relay.port}/{db['NAME']}",
        "DATABASE_CONN_MAX_AGE": "60",  # a kept connection that dies must not stick
    }
    poller = subprocess.Popen(
        [sys.executable, "-c", POLL],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def poll() -> str:
        poller.stdin.write("\n")
        poller.stdin.flush()
        return poller.stdout.readline().strip()

    try:
        assert poll() == "200 degraded"  # no worker in this test
        relay.cut()
        assert poll() == "503 down"
        assert poll() == "503 down"
        relay.restore()
        assert poll() == "200 degraded"  # the same process, no restart
    finally:
        poller.kill()
        poller.wait()
