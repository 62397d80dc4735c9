"""A throwaway PostgreSQL server: ``initdb`` into a temp folder, ``pg_ctl`` on a free port.

As root, PostgreSQL refuses to run: the data and socket folders are then owned by ``postgres``
and the server runs as that user via ``runuser``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BINS = [Path(p) for p in ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")]


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in PG_BINS:
        if (folder / name).exists():
            return str(folder / name)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{cmd[-1] if cmd else cmd} failed: {done.stdout}{done.stderr}")


@contextmanager
def postgres_server(tmp: Path) -> Iterator[str]:
    """Yields a ``postgresql+psycopg://`` URL of a fresh server; stops it at exit."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError("PostgreSQL is not installed: run `make tools` (apt-get postgresql)")
    data, sock = tmp / "pgdata", tmp / "pgsock"
    sock.mkdir(parents=True)
    as_user: list[str] = []
    if os.geteuid() == 0:
        os.chmod(tmp, 0o755)
        shutil.chown(sock, "postgres", "postgres")
        data.mkdir()
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    _run(
        [
            *as_user,
            initdb,
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
    )
    opts = (
        f"-h 127.0.0.1 -p {port} -k {sock} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    _run(
        [
            *as_user,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(data / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
        )
