"""A real PostgreSQL server for tests, started by the tests themselves.

Debian's `postgresql` package (binaries in /usr/lib/postgresql/<version>/bin): initdb
into a temporary folder owned by the `postgres` user (PostgreSQL refuses to run as
root, so every server command runs through `runuser -u postgres` when the tests are
root), `pg_ctl` on 127.0.0.1 and a port picked up front (port 0 is refused). Trust
authentication on loopback only. `restart()` is the fault the tests inject.

Fixtures: `postgres_server` (one server per session) and `postgres_url` (a fresh,
empty database per test, made with CREATE DATABASE). Without the binaries the tests
skip, unless CI is set: then they fail, so CI cannot silently lose them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from smtp_server import free_port

__all__ = ["PostgresServer", "find_bin", "postgres_server", "postgres_url"]


def find_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """One PostgreSQL cluster in its own folder on 127.0.0.1:`port`."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin = bin_dir
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        self._databases = 0

    def _run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True,
                              timeout=timeout)

    def start(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self._pg_ctl("start")
        return self

    def _options(self) -> str:
        return (f"-c listen_addresses=127.0.0.1 -c port={self.port}"
                f" -c unix_socket_directories={self.root} -c fsync=off"
                " -c max_connections=200")

    def _pg_ctl(self, action: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", self._options(), action)

    def stop(self) -> None:
        """A fast shutdown (clients are disconnected)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        """`pg_ctl restart` (fast: every client is disconnected), on the same port."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60",
                  "-l", str(self.log), "-o", self._options(), "restart")

    def start_again(self) -> None:
        """Start after `stop()`, on the same port."""
        self._pg_ctl("start")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh empty database; its URL."""
        self._databases += 1
        name = f"test_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (apt-get install postgresql) but CI "
                        "is set: these tests must run")
        pytest.skip("PostgreSQL binaries not installed")
    root = Path(tempfile.mkdtemp(prefix="policy-qa-pg-"))
    server = PostgresServer(bin_dir, root)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        log = server.log.read_text() if server.log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr or exc}\n{log[-2000:]}")
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh database on the session's server, for one test."""
    return postgres_server.create_database()
