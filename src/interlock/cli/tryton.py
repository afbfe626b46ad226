"""``interlock tryton``: a local Tryton ERP/PSA set up for Interlock, from PyPI packages only."""

from __future__ import annotations

import os
import secrets
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Literal

import typer
from pydantic import SecretStr
from rich.console import Console

from interlock.exceptions import InterlockError

tryton_app = typer.Typer(help="A local Tryton server for Interlock.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

CREDENTIALS = "credentials.env"
_ADMIN_VAR = "INTERLOCK_TRYTON_ADMIN_PASSWORD"
_USER_VAR = "INTERLOCK_TRYTON_PASSWORD"


def _credentials(folder: Path, admin: str | None, user: str | None) -> tuple[SecretStr, SecretStr]:
    """Passwords given, else those saved in ``credentials.env``, else new ones saved there."""
    file = folder / CREDENTIALS
    saved: dict[str, str] = {}
    if file.exists():
        for line in file.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                saved[key.strip()] = value.strip()
    chosen = {_ADMIN_VAR: admin or saved.get(_ADMIN_VAR), _USER_VAR: user or saved.get(_USER_VAR)}
    new = {key: secrets.token_urlsafe(18) for key, value in chosen.items() if value is None}
    if new:  # only generated passwords are written down, never ones given to us
        saved.update(new)
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write("".join(f"{k}={v}\n" for k, v in saved.items()))
    merged = {**chosen, **new}
    return SecretStr(str(merged[_ADMIN_VAR])), SecretStr(str(merged[_USER_VAR]))


@tryton_app.callback()
def tryton() -> None:
    """A local Tryton 8.2 (ERP and PSA) set up for Interlock, from PyPI packages only."""


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    stop.wait()


@tryton_app.command()
def init(
    backend: Annotated[
        str,
        typer.Option(
            envvar="INTERLOCK_TRYTON_BACKEND", help="Database backend: sqlite or postgresql."
        ),
    ] = "sqlite",
    path: Annotated[
        Path,
        typer.Option(
            envvar="INTERLOCK_TRYTON_PATH",
            help="Folder for the SQLite file, trytond.conf, logs and credentials.env.",
        ),
    ] = Path("var/tryton"),
    pg_url: Annotated[
        str,
        typer.Option(
            envvar="INTERLOCK_TRYTON_PG_URL",
            help="PostgreSQL maintenance database URL, used to create the database.",
        ),
    ] = "postgresql://root@127.0.0.1:5432/postgres",
    name: Annotated[
        str, typer.Option(envvar="INTERLOCK_TRYTON_NAME", help="Database name.")
    ] = "interlock",
    port: Annotated[
        int, typer.Option(envvar="INTERLOCK_TRYTON_PORT", help="Port trytond listens on.")
    ] = 8000,
    serve: Annotated[
        bool,
        typer.Option(envvar="INTERLOCK_TRYTON_SERVE", help="Keep serving until Ctrl-C."),
    ] = True,
    company: Annotated[
        str, typer.Option(envvar="INTERLOCK_TRYTON_COMPANY", help="Name of the company.")
    ] = "Interlock Consulting",
    currency: Annotated[
        str, typer.Option(envvar="INTERLOCK_TRYTON_CURRENCY", help="ISO code of its currency.")
    ] = "USD",
    admin_password: Annotated[
        str | None,
        typer.Option(
            envvar=_ADMIN_VAR,
            help="Password of the Tryton admin; default: saved in or added to credentials.env.",
            show_default=False,
        ),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar=_USER_VAR,
            help="Password of the Tryton user 'interlock'; default: as for the admin.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a Tryton database set up for invoicing, start trytond and print how to connect.

    Activates the modules, then adds currency, company, chart of accounts, fiscal years,
    a service product sold by the hour and the user Interlock logs in as. Safe to re-run.
    """
    if backend not in ("sqlite", "postgresql"):
        err.print("[bold red]error:[/] --backend must be sqlite or postgresql")
        raise typer.Exit(2)
    try:
        _init(
            backend,  # type: ignore[arg-type]
            path.resolve(),
            pg_url,
            name,
            port,
            serve,
            company,
            currency,
            admin_password,
            password,
        )
    except InterlockError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(2) from None


def _init(
    backend: Literal["sqlite", "postgresql"],
    folder: Path,
    pg_url: str,
    name: str,
    port: int,
    serve: bool,
    company: str,
    currency: str,
    admin_password: str | None,
    password: str | None,
) -> None:
    from interlock.connectors.tryton.bootstrap import Setup, bootstrap
    from interlock.connectors.tryton.rpc import TrytonRpc
    from interlock.connectors.tryton.server import (
        TrytonDatabase,
        TrytonServer,
        activate_modules,
        require_trytond,
    )

    require_trytond()
    folder.mkdir(parents=True, exist_ok=True)
    admin_secret, user_secret = _credentials(folder, admin_password, password)
    database = TrytonDatabase(name, backend, folder if backend == "sqlite" else None, pg_url)
    if not database.exists():
        console.print(f"Creating {backend} database {name!r} and activating modules...")
        database.create()
        activate_modules(database, folder, admin_password=admin_secret)
    server = TrytonServer(database, folder, port).start()
    try:
        admin = TrytonRpc("tryton", server.base_url, name, "admin", admin_secret)
        setup = Setup(user_password=user_secret, company_name=company, currency=currency)
        bootstrap(admin, setup)
        admin.close()
        console.print(f"Tryton {server.base_url}  database {name!r}  user {setup.user_login!r}")
        console.print(f"Passwords: {folder / CREDENTIALS} (or the options you gave)")
        if serve:
            console.print("Serving; Ctrl-C to stop.")
            _wait_for_signal()
    finally:
        server.stop()
