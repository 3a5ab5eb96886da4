"""PostgreSQL for the deployment tests: the CI server, or a throwaway cluster of our own.

With `RELEASE_ASSETS_TEST_POSTGRES_URL` set, that server is used. Without it (`make test`, which
installs the Debian `postgresql` package if it is missing) we start a cluster with the Debian
PostgreSQL binaries (the newest under /usr/lib/postgresql, or `RELEASE_ASSETS_PG_BIN`) in a temporary
directory, on 127.0.0.1 and a free port, with trust authentication: nothing outside this machine
can reach it and it is deleted afterwards. PostgreSQL refuses to run as root, so as root the
cluster belongs to the `postgres` user. Every test gets its own database, so reruns start clean.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

from release_assets_tests.deployment.processes import free_port

URL_ENV = "RELEASE_ASSETS_TEST_POSTGRES_URL"


def _debian_pg_bin() -> Path:
    """The newest Debian PostgreSQL server's bin/ (bookworm ships 15, trixie 17)."""
    versions = sorted(
        (int(d.name), d / "bin") for d in Path("/usr/lib/postgresql").glob("*")
        if d.name.isdigit() and (d / "bin" / "initdb").exists()
    )
    return versions[-1][1] if versions else Path("/usr/lib/postgresql/15/bin")


PG_BIN = Path(os.environ["RELEASE_ASSETS_PG_BIN"]) if os.environ.get("RELEASE_ASSETS_PG_BIN") else _debian_pg_bin()


def _as_postgres_user(argv: list[str]) -> list[str]:
    """As root, run `argv` as the `postgres` system user (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *argv]
    return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]


@dataclass
class ThrowawayCluster:
    """`initdb` + `pg_ctl start` in a temporary directory; `stop()` removes it all."""

    root: Path
    port: int

    @classmethod
    def start(cls) -> ThrowawayCluster:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(
                f"no PostgreSQL binaries in {PG_BIN}: `apt-get install -y postgresql` "
                f"(`make test` does), or set {URL_ENV}"
            )
        root = Path(tempfile.mkdtemp(prefix="release-assets-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)
        cluster = cls(root=root, port=free_port())
        data = root / "data"
        subprocess.run(
            _as_postgres_user([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                               "--no-sync"]),
            check=True, capture_output=True,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {cluster.port} -k {root} -c fsync=off"
        subprocess.run(
            _as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options,
                               "-l", str(root / "postgres.log"), "-w", "-t", "60", "start"]),
            check=True, capture_output=True,
        )
        return cluster

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            _as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                               "-w", "stop"]),
            check=False, capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _psycopg2_dsn(sqlalchemy_url: str) -> str:
    """`postgresql+psycopg2://…` (what dagster-postgres takes) as a libpq URL."""
    parts = urlsplit(sqlalchemy_url)
    return urlunsplit(("postgresql", *parts[1:]))


def with_database(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def create_database(server_url: str, prefix: str = "release_assets_test") -> str:
    """A fresh, uniquely named database on the server; its `postgresql+psycopg2://` URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    connection = psycopg2.connect(_psycopg2_dsn(server_url))
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return with_database(server_url, name)


def drop_database(database_url: str) -> None:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    connection = psycopg2.connect(_psycopg2_dsn(with_database(database_url, "postgres")))
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


def query(database_url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Read straight from PostgreSQL: proof the history is in the database, not in a process."""
    connection = psycopg2.connect(_psycopg2_dsn(database_url))
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    finally:
        connection.close()
