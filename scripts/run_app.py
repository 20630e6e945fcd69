"""`make run`: database, migrations, demo data, the embedding worker and the web server.

One Ctrl-C stops the web server, the worker and the embedded PostgreSQL this started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_DATA = ROOT / "papers" / "demo" / "daily_papers.txt"
ADDRESS = os.environ.get("RUN_ADDRESS", "127.0.0.1:8000")
WORKER_BACKOFF_MAX = 30.0  # seconds between restarts of a worker that keeps dying


def manage(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, **kwargs)


def run(*args: str) -> None:
    code = manage(*args).wait()
    if code:
        sys.exit(f"`manage.py {' '.join(args)}` failed (exit {code})")


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # a kill or a closed terminal stops everything, like Ctrl-C


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Started in the background by a script, a process inherits SIGINT ignored: take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    run("migrate", "--no-input")
    run("collectstatic", "--no-input", "--verbosity", "0")
    run("load_demo_data", str(DEMO_DATA))
    web = manage("runserver", "--noreload", ADDRESS, start_new_session=True)
    print(f"\nServing on http://{ADDRESS}/  (Ctrl-C stops everything)\n", flush=True)
    supervise(web)


def start_worker() -> subprocess.Popen:
    # Each child gets its own process group so one Ctrl-C here is handled once, in order.
    return manage("db_worker", "--queue-name", "*", start_new_session=True)


def supervise(web: subprocess.Popen) -> None:
    """Run the worker beside the web server until the web server stops or this process is told
    to, then stop both. A worker that dies (the database went away, a kill) is started again,
    after a pause that doubles while it keeps dying (up to WORKER_BACKOFF_MAX s): it re-queues
    the papers its lost batch held (papers.management.commands.db_worker), and searches go on."""
    worker, pause = start_worker(), 1.0
    try:
        while web.poll() is None:
            if worker.poll() is not None:
                print(f"the worker stopped (exit {worker.returncode}); starting it again in "
                      f"{pause:.0f} s", file=sys.stderr, flush=True)  # fmt: skip
                time.sleep(pause)
                started, worker = time.monotonic(), start_worker()
                pause = min(pause * 2, WORKER_BACKOFF_MAX)
            elif pause > 1 and time.monotonic() - started > WORKER_BACKOFF_MAX:
                pause = 1.0  # it has run a while: the next death starts the backoff again
            time.sleep(0.5)
        sys.exit("the web server stopped; stopping the worker")
    except KeyboardInterrupt:
        pass
    finally:
        stop([worker, web])


def stop(children: list[subprocess.Popen]) -> None:
    # A second Ctrl-C (or a TERM from a process manager) while stopping would break off here
    # and leave the children running: from now on this process only waits for them.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    # SIGTERM, not SIGINT: a child may have inherited SIGINT ignored. The worker finishes its
    # batch on either; the web server just exits.
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    if not os.environ.get("DATABASE_URL"):
        subprocess.run([sys.executable, "-m", "config.database", "stop"], cwd=ROOT)


if __name__ == "__main__":
    main()
