"""A throwaway PostgreSQL 15 cluster for the store tests: its own data directory, a free loopback port.

Never the system's server on 5432: CI runs on a fresh machine where that may not run. PostgreSQL
refuses to run as root, so as root the cluster belongs to the ``postgres`` user (runuser).
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from itertools import count

import psycopg

from floodmesh.broker import free_port

PG_BIN = "/usr/lib/postgresql/15/bin"
MISSING = (
    f"PostgreSQL 15 is not installed ({PG_BIN}/initdb, pg_ctl): the PostgreSQL store tests need it. "
    "scripts/setup.sh installs it (apt-get install postgresql-15-postgis-3, which pulls postgresql-15)"
)


def installed() -> bool:
    """Whether initdb and pg_ctl are there."""
    return all(os.access(f"{PG_BIN}/{exe}", os.X_OK) for exe in ("initdb", "pg_ctl"))


def _as_postgres(*cmd: str) -> None:
    argv = ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)
    done = subprocess.run(argv, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stdout}{done.stderr}")


@dataclass
class PostgresCluster:
    """A running cluster; ``new_database()`` gives each test an empty database of its own."""

    workdir: str
    port: int
    _names: "count[int]" = field(default_factory=lambda: count(1))

    @property
    def data(self) -> str:
        return f"{self.workdir}/data"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """Create an empty database; returns its URL."""
        name = f"store_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by new_database (connections still open are ended)."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server and remove its files."""
        try:
            _as_postgres(f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    """initdb a cluster in a temp dir and start it on a free loopback port (fsync off: tests only)."""
    workdir = tempfile.mkdtemp(prefix="floodmesh-store-pg-")
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
    cluster = PostgresCluster(workdir, free_port())
    try:
        _as_postgres(f"{PG_BIN}/initdb", "-D", cluster.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                     "--locale=C", "--no-sync")
        opts = f"-p {cluster.port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        _as_postgres(f"{PG_BIN}/pg_ctl", "-D", cluster.data, "-l", f"{workdir}/log", "-w", "-o", opts, "start")
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return cluster
