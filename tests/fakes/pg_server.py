"""A private PostgreSQL server for fault tests: its own data directory and port, so a test may
restart it (or kill its clients) without disturbing anything else on the machine.

Not a fake: the real server binaries (Debian's postgresql-15), started with `pg_ctl`. As root
(CI, these machines) the server runs as the `postgres` user, as PostgreSQL requires.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN_DIRS = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin")]


def bin_dir() -> Path | None:
    """Where initdb and pg_ctl are, or None (then the fault tests skip)."""
    for d in BIN_DIRS:
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = port
        self.url = f"postgresql://doorstep@127.0.0.1:{port}/doorstep"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        # C collation, as the stores expect (key-range queries compare by code point).
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "doorstep",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\nmax_connections = 200\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        """Stop the server under its clients (their connections break) and start it again."""
        # -l again: without it the new server writes to (and holds open) our stdout pipe.
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-m",
            "fast",
            "-w",
            "restart",
        )

    def createdb(self) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "doorstep", "doorstep")


def _reachable_tmp() -> str:
    """The temporary directory, unless the server's user could not reach into it.

    As root the server runs as `postgres`, which needs search permission on every parent: a
    TMPDIR under pytest's own 0700 directory (the bench smoke test sets one) is not, /tmp is.
    """
    tmp = Path(tempfile.gettempdir()).resolve()
    if os.geteuid() != 0:
        return str(tmp)
    for d in (tmp, *tmp.parents):
        if not d.stat().st_mode & 0o001:
            return "/tmp"
    return str(tmp)


@contextmanager
def private_pg() -> Iterator[PgServer]:
    """A fresh server with an empty `doorstep` database; removed afterwards."""
    bindir = bin_dir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found")
    root = Path(tempfile.mkdtemp(prefix="doorstep-pg-", dir=_reachable_tmp()))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = PgServer(bindir, root, _free_port())
    try:
        server.init()
        server.start()
        server.createdb()
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
