"""A throwaway PostgreSQL cluster for tests: initdb + pg_ctl on a free port under a temp dir.

PostgreSQL refuses to run as root, so as root the cluster belongs to the unprivileged
`nobody` user (via runuser); it listens on 127.0.0.1 only, with its socket in its own dir.
Tests are skipped, with the reason, when the binaries are missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.mosquitto import free_port

PG_BIN_DIRS = [
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
]
SUPERUSER = "repsled"
START_TIMEOUT_S = 30


def pg_binary(name: str) -> str | None:
    search = os.pathsep.join([os.environ.get("PATH", ""), *PG_BIN_DIRS])
    return shutil.which(name, path=search)


class Postgres:
    """One cluster; `stop()`/`start()` restart it on the same port and data."""

    def __init__(self, fsync: bool = False) -> None:
        initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            pytest.skip(
                "PostgreSQL binaries (initdb, pg_ctl) not found (apt-get install postgresql)"
            )
        self.pg_ctl = pg_ctl
        self.as_root = os.geteuid() == 0
        if self.as_root and shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as a user")
        self.dir = Path(tempfile.mkdtemp(prefix="repsled-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        if self.as_root:
            os.chmod(self.dir, 0o755)
            shutil.chown(self.dir, "nobody")
        self._run(
            [
                initdb,
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        self.running = False
        self.fsync = fsync  # off for tests (a throwaway cluster); on for the bench's figures

    def _run(self, argv: list[str]) -> None:
        if self.as_root:
            argv = ["runuser", "-u", "nobody", "--", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=self.dir)
        if proc.returncode != 0:
            raise RuntimeError(f"{argv} failed:\n{proc.stdout}\n{proc.stderr}\n{self.read_log()}")

    def read_log(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
        except FileNotFoundError:
            return ""

    def start(self) -> Postgres:
        fsync = "on" if self.fsync else "off"
        options = f"-p {self.port} -k {self.data} -h 127.0.0.1 -c fsync={fsync}"
        self._run(
            [
                self.pg_ctl,
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "start",
            ]
        )
        self.running = True
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.running:
            self._run([self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"])
            self.running = False

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{db}"

    def create_db(self, name: str) -> str:
        """A new empty database; its URL."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
