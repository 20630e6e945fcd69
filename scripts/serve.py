"""`make serve`: the app as production runs it. Migrations, collectstatic (hashed names), then
gunicorn and the embedding worker, supervised together: one Ctrl-C or SIGTERM stops both. A
worker that dies is started again (with a growing pause while it keeps dying) while gunicorn goes
on serving; if gunicorn dies, both stop, so a process manager (systemd, a container) restarts the
whole unit.

Settings come from the environment (docs/DEPLOY.md); DJANGO_ENV defaults to production here.
gunicorn's own knobs:
  WEB_CONCURRENCY   worker processes (default 2 x cores + 1)
  BIND              address (default 127.0.0.1:8000; a proxy in front terminates TLS)
  WEB_TIMEOUT       seconds a request may take before gunicorn kills its worker (default 30;
                    searches stop long before, at SEARCH_STATEMENT_TIMEOUT)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from scripts.run_app import interrupt, run, supervise

MAX_REQUESTS = "1000"  # a worker is replaced after this many requests (jittered), in case of leaks


def gunicorn_command() -> list[str]:
    workers = os.environ.get("WEB_CONCURRENCY") or str(2 * (os.cpu_count() or 1) + 1)
    timeout = os.environ.get("WEB_TIMEOUT", "30")
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--config",
        "python:config.gunicorn_hooks",  # each worker warms up before its first request
        "--bind",
        os.environ.get("BIND", "127.0.0.1:8000"),
        "--workers",
        workers,
        "--timeout",
        timeout,
        "--graceful-timeout",
        timeout,
        "--max-requests",
        MAX_REQUESTS,
        "--max-requests-jitter",
        "100",
        "--access-logfile",
        "-",
    ]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_ENV", "production")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
    run("check", "--deploy")
    run("migrate", "--no-input")
    run("collectstatic", "--no-input", "--verbosity", "0")
    web = subprocess.Popen(gunicorn_command(), start_new_session=True)
    print(f"\nServing on {os.environ.get('BIND', '127.0.0.1:8000')}\n", flush=True)
    supervise(web)


if __name__ == "__main__":
    main()
