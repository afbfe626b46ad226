"""Running Tryton for development and tests: database, module activation, server process.

Needs the ``tryton`` extra (``pip install 'interlock[tryton]'``); PostgreSQL also needs
``psycopg``. The ``trytond`` and ``trytond-admin`` executables are taken from the Python
environment Interlock runs in. Facts this module relies on (Tryton 8.2):

* a SQLite database is the file ``<path>/<name>.sqlite`` and must exist before
  ``trytond-admin`` runs; a PostgreSQL database must be created beforehand;
* the first ``trytond-admin`` reads the admin password from the file ``TRYTONPASSFILE``;
* ``trytond`` must be given the database with ``-d``: a database first met by a request
  is not loaded (the login fails with ``KeyError: 'res.user'``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx
from pydantic import SecretStr

from interlock.exceptions import ConfigError, ConnectorUnavailable

Backend = Literal["sqlite", "postgresql"]

MODULES = (
    "company",
    "party",
    "project",
    "project_invoice",
    "project_plan",
    "project_revenue",
    "timesheet",
    "timesheet_cost",
    "account_invoice",
)
"""Modules Interlock needs; their dependencies (account, product...) come with them."""

DEFAULT_PG_ADMIN_URL = "postgresql://root@127.0.0.1:5432/postgres"


def require_trytond() -> None:
    """Raise ConfigError naming the fix when the Tryton packages are not installed."""
    if importlib.util.find_spec("trytond") is None:
        raise ConfigError(
            "environment", "trytond", "not installed: pip install 'interlock[tryton]'"
        )


def executable(name: str) -> str:
    """Path of a Tryton command from this Python environment (or else from PATH)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise ConfigError("environment", name, "not found: pip install 'interlock[tryton]'")
    return found


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _libpq(url: str) -> str:
    """A libpq URL from a SQLAlchemy one (``postgresql+psycopg://`` → ``postgresql://``)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


@dataclass(frozen=True)
class TrytonDatabase:
    """A Tryton database.

    Attributes:
        name: Database name.
        backend: ``sqlite`` or ``postgresql``.
        directory: SQLite: the folder holding ``<name>.sqlite``.
        pg_admin_url: PostgreSQL: URL of a maintenance database, used to create and drop
            (``postgresql://root@127.0.0.1:5432/postgres``; a SQLAlchemy URL works too).
    """

    name: str
    backend: Backend
    directory: Path | None = None
    pg_admin_url: str | None = None

    @property
    def file(self) -> Path:
        """The SQLite file."""
        if self.directory is None:
            raise ConfigError("tryton database", "directory", "a SQLite database needs one")
        return self.directory / f"{self.name}.sqlite"

    @property
    def uri(self) -> str:
        """The ``[database] uri`` of trytond's configuration."""
        if self.backend == "sqlite":
            return "sqlite://"
        scheme, _, rest = _libpq(self._admin_url).partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/"

    @property
    def _admin_url(self) -> str:
        return self.pg_admin_url or DEFAULT_PG_ADMIN_URL

    def _admin(self, sql: str) -> list[tuple[object, ...]]:
        try:
            import psycopg
        except ImportError:
            raise ConfigError(
                "environment", "psycopg", "not installed: pip install 'interlock[postgresql]'"
            ) from None
        try:
            with psycopg.connect(_libpq(self._admin_url), autocommit=True) as conn:
                cursor = conn.execute(sql.encode())
                return list(cursor.fetchall()) if cursor.description else []
        except psycopg.Error as exc:
            raise ConnectorUnavailable("tryton", f"PostgreSQL: {type(exc).__name__}") from exc

    def exists(self) -> bool:
        """True when the database is there."""
        if self.backend == "sqlite":
            return self.file.exists()
        rows = self._admin(f"SELECT 1 FROM pg_database WHERE datname = '{self._safe_name}'")  # noqa: S608
        return bool(rows)

    @property
    def _safe_name(self) -> str:
        if not self.name.replace("_", "").isalnum():
            raise ConfigError("tryton database", "name", "letters, digits and _ only")
        return self.name

    def create(self) -> None:
        """Create the empty database."""
        if self.backend == "sqlite":
            self.file.parent.mkdir(parents=True, exist_ok=True)
            self.file.touch()
        else:
            self._admin(f"CREATE DATABASE \"{self._safe_name}\" ENCODING 'UTF8'")

    def drop(self) -> None:
        """Drop the database if it exists."""
        if self.backend == "sqlite":
            self.file.unlink(missing_ok=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{self._safe_name}" WITH (FORCE)')

    def settle(self) -> None:
        """SQLite: fold the write-ahead log into the file, so copying the file is enough."""
        if self.backend == "sqlite" and self.file.exists():
            with contextlib.closing(sqlite3.connect(self.file)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def copy(self, name: str, directory: Path | None = None) -> TrytonDatabase:
        """A copy of this database named ``name`` (SQLite: in ``directory``)."""
        if self.backend == "sqlite":
            self.settle()
            target = TrytonDatabase(name, "sqlite", directory or self.directory)
            target.file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.file, target.file)
            return target
        target = TrytonDatabase(name, "postgresql", pg_admin_url=self.pg_admin_url)
        self._admin(f'CREATE DATABASE "{target._safe_name}" TEMPLATE "{self._safe_name}"')
        return target

    def rename(self, name: str) -> TrytonDatabase:
        """This database under a new name."""
        target = TrytonDatabase(name, self.backend, self.directory, self.pg_admin_url)
        if self.backend == "sqlite":
            self.settle()
            os.replace(self.file, target.file)
        else:
            self._admin(f'ALTER DATABASE "{self._safe_name}" RENAME TO "{target._safe_name}"')
        return target


def write_config(path: Path, database: TrytonDatabase, *, port: int) -> Path:
    """Write a trytond configuration for ``database`` served on 127.0.0.1:``port``."""
    lines = ["[database]", f"uri = {database.uri}"]
    if database.backend == "sqlite":
        lines.append(f"path = {database.file.parent}")
    lines += ["", "[web]", f"listen = 127.0.0.1:{port}", "", "[session]", "timeout = 86400", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def activate_modules(
    database: TrytonDatabase,
    workdir: Path,
    *,
    admin_password: SecretStr,
    admin_email: str = "admin@example.com",
    modules: Sequence[str] = MODULES,
) -> None:
    """Create the schema and activate ``modules`` with their dependencies (trytond-admin).

    Minutes on PostgreSQL, about twenty seconds on SQLite: clone a template instead.
    """
    require_trytond()
    config = write_config(workdir / "trytond-admin.conf", database, port=free_port())
    log = workdir / "trytond-admin.log"
    with tempfile.NamedTemporaryFile("w", dir=workdir, delete=False) as secret:
        secret.write(admin_password.get_secret_value())
    try:
        command = [executable("trytond-admin"), "-c", str(config), "-d", database.name]
        command += ["-u", *modules, "--activate-dependencies", "--email", admin_email]
        env = {**os.environ, "TRYTONPASSFILE": secret.name}
        with log.open("ab") as out:
            done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    finally:
        os.unlink(secret.name)
    if done.returncode != 0:
        raise ConfigError("trytond-admin", database.name, f"failed; see {log}")


class TrytonServer:
    """A ``trytond`` process serving one database on 127.0.0.1.

    Args:
        database: The database to serve (initialised).
        workdir: Folder for the configuration file and ``trytond.log``.
        port: TCP port; a free one by default.
    """

    def __init__(self, database: TrytonDatabase, workdir: Path, port: int | None = None) -> None:
        self.database = database
        self.workdir = workdir
        self.port = port or free_port()
        self.log = workdir / "trytond.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Root URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> TrytonServer:
        """Start trytond and wait until it answers."""
        require_trytond()
        config = write_config(self.workdir / "trytond.conf", self.database, port=self.port)
        command = [executable("trytond"), "-c", str(config), "-d", self.database.name]
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + timeout
        body = {"id": 0, "method": "common.server.version", "params": []}
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ConnectorUnavailable("tryton", f"trytond exited; see {self.log}")
            try:
                if httpx.post(f"{self.base_url}/rpc/", json=body, timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise ConnectorUnavailable(
            "tryton", f"trytond did not answer in {timeout}s; see {self.log}"
        )

    def stop(self) -> None:
        """Stop trytond (SIGTERM, then SIGKILL after ten seconds)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.database.settle()

    def __enter__(self) -> TrytonServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
