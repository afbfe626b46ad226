"""The ``interlock`` command line. Every option also reads an ``INTERLOCK_*`` variable."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from interlock.cli.faults import faults_app
from interlock.cli.operations import exceptions_app, holds_app, replay_command, runs_app
from interlock.cli.tryton import tryton_app
from interlock.exceptions import ConfigError, InterlockError
from interlock.settings import DEFAULT_DATABASE_URL, Settings, load_settings

if TYPE_CHECKING:
    from interlock.runtime import Hub

app = typer.Typer(
    help="Interlock: keep CRM, PSA, scheduler and ERP in step.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
contracts_app = typer.Typer(help="Canonical data contracts.", no_args_is_help=True)
docs_app = typer.Typer(help="Generated documentation.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
app.add_typer(tryton_app, name="tryton")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(holds_app, name="holds")
app.add_typer(runs_app, name="runs")
app.add_typer(faults_app, name="faults")
app.command("replay")(replay_command)
app.add_typer(db_app, name="db")
app.add_typer(contracts_app, name="contracts")

console = Console()
err = Console(stderr=True)

DatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="INTERLOCK_DATABASE_URL",
        help="SQLAlchemy database URL (sqlite:///file or postgresql+psycopg://...).",
    ),
]
TopologyFile = Annotated[
    Path, typer.Option("--topology", envvar="INTERLOCK_TOPOLOGY", help="YAML topology file.")
]
LogLevel = Annotated[
    str,
    typer.Option(
        "--log-level", envvar="INTERLOCK_LOG_LEVEL", help="DEBUG, INFO, WARNING or ERROR."
    ),
]


def _fail(exc: InterlockError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
    return typer.Exit(2)


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def demo(
    deals: Annotated[
        int | None,
        typer.Option(
            envvar="INTERLOCK_DEMO_DEALS",
            min=1,
            max=2000,
            help="Deals to win [default: 30; 10 with --erp tryton].",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(envvar="INTERLOCK_DEMO_SEED", help="Seed of the generated firm.")
    ] = 7,
    bad_share: Annotated[
        float,
        typer.Option(
            envvar="INTERLOCK_DEMO_BAD_SHARE",
            min=0,
            max=1,
            help="Share of deals with bad metadata.",
        ),
    ] = 0.2,
    database: Annotated[
        Path,
        typer.Option(
            envvar="INTERLOCK_DEMO_DATABASE", help="SQLite file for the demo (recreated)."
        ),
    ] = Path("var/demo.sqlite"),
    chaos: Annotated[
        bool,
        typer.Option(envvar="INTERLOCK_DEMO_CHAOS", help="Inject faults into the PSA and ERP."),
    ] = False,
    erp: Annotated[
        str,
        typer.Option(
            envvar="INTERLOCK_DEMO_ERP",
            help="netsuite: sandboxes (Kantata PSA, Float, NetSuite ERP), deals mobilised. "
            "tryton: a real Tryton as ERP and PSA (needs the tryton extra), the whole "
            "lifecycle: deals, staffing, approved time, posted invoices.",
        ),
    ] = "netsuite",
    tryton_cache: Annotated[
        Path,
        typer.Option(
            envvar="INTERLOCK_DEMO_TRYTON_CACHE",
            help="With --erp tryton: folder of the cached Tryton template and its run copy.",
        ),
    ] = Path("var/tryton-demo"),
) -> None:
    """Win a batch of deals in the Salesforce sandbox and watch them mobilised.

    With --erp tryton, the whole lifecycle runs against a real Tryton: deals mobilised and
    staffed, approved time posted, invoices posted.
    """
    from interlock.cli.demo_view import show_demo, show_tryton_demo

    if erp not in ("netsuite", "tryton"):
        err.print("[bold red]error:[/] --erp must be netsuite or tryton")
        raise typer.Exit(2)
    if erp == "tryton" and chaos:
        err.print("[bold red]error:[/] --chaos applies to the sandboxes, not to --erp tryton")
        raise typer.Exit(2)
    try:
        if erp == "tryton":
            show_tryton_demo(
                console,
                database=database,
                deals=deals or 10,
                seed=seed,
                bad_share=bad_share,
                cache=tryton_cache,
            )
        else:
            show_demo(
                console,
                database=database,
                deals=deals or 30,
                seed=seed,
                bad_share=bad_share,
                chaos=chaos,
            )
    except InterlockError as exc:
        raise _fail(exc) from None


def _stop_event() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _hub(database_url: str, topology: Path) -> tuple[Settings, Hub]:
    from interlock.runtime import build_hub
    from interlock.topology import load_topology

    settings = load_settings(database_url=database_url, topology=topology)
    return settings, build_hub(settings, load_topology(topology), source=str(topology))


@app.command()
def worker(
    topology: TopologyFile,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    log_level: LogLevel = "INFO",
) -> None:
    """Run a worker: poll sources, dispatch events, execute flow runs."""
    _logging(log_level)
    try:
        settings, hub = _hub(database_url, topology)
    except InterlockError as exc:
        raise _fail(exc) from None
    try:
        hub.store.upgrade()
        hub.engine.run_forever(_stop_event(), settings.worker_poll_seconds)
    finally:
        hub.close()


@app.command()
def serve(
    topology: TopologyFile,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    host: Annotated[
        str, typer.Option(envvar="INTERLOCK_HOST", help="Address to bind.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="INTERLOCK_PORT", help="Port to bind.")] = 8080,
    workers: Annotated[
        bool, typer.Option(envvar="INTERLOCK_SERVE_WORKER", help="Run a worker in-process.")
    ] = True,
    log_level: LogLevel = "INFO",
) -> None:
    """Serve the HTTP API (with a worker in-process unless --no-workers)."""
    from interlock.api.app import create_api
    from interlock.serving import ThreadedServer

    _logging(log_level)
    try:
        settings, hub = _hub(database_url, topology)
    except InterlockError as exc:
        raise _fail(exc) from None
    hub.store.upgrade()
    stop = _stop_event()
    thread = threading.Thread(
        target=hub.engine.run_forever, args=(stop, settings.worker_poll_seconds), daemon=True
    )
    server = ThreadedServer(
        create_api(hub.store, hub), host=host, port=port, log_level=log_level.lower()
    )
    try:
        server.start()
        console.print(f"serving on {server.base_url}", highlight=False)
        if workers:
            thread.start()
        stop.wait()
    finally:
        stop.set()
        server.stop()
        if workers:
            thread.join(timeout=10)
        hub.close()


@app.command()
def sandbox(
    system: Annotated[str, typer.Argument(help="salesforce, netsuite, kantata or all.")] = "all",
    host: Annotated[str, typer.Option(envvar="INTERLOCK_SANDBOX_HOST")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            envvar="INTERLOCK_SANDBOX_PORT", help="First port; 'all' uses three in a row."
        ),
    ] = 8701,
    seed: Annotated[int, typer.Option(envvar="INTERLOCK_DEMO_SEED")] = 7,
    deals: Annotated[int, typer.Option(envvar="INTERLOCK_DEMO_DEALS")] = 30,
) -> None:
    """Run vendor sandboxes standalone, seeded with a generated firm."""
    from interlock.cli.sandboxes import serve_sandboxes

    try:
        serve_sandboxes(
            console, system, host=host, port=port, seed=seed, deals=deals, stop=_stop_event()
        )
    except ConfigError as exc:
        raise _fail(exc) from None


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = DEFAULT_DATABASE_URL) -> None:
    """Create or migrate the schema to the newest version."""
    from interlock.store import Store
    from interlock.store.migrate import current

    try:
        store = Store(load_settings(database_url=database_url).database_url)
        store.upgrade()
        console.print(f"schema at revision {current(store.engine)}")
        store.close()
    except InterlockError as exc:
        raise _fail(exc) from None


@contracts_app.command("export")
def contracts_export(directory: Path) -> None:
    """Write the canonical contracts as JSON Schema files into DIRECTORY."""
    from interlock.schemas import export_schemas

    written = export_schemas(directory)
    console.print(f"wrote {len(written)} files to {directory}")


@contracts_app.command("check")
def contracts_check(old: Path, new: Path) -> None:
    """Compare two exports; exit 1 on a breaking change without a new version."""
    from interlock.schemas import check_compatibility

    ok, changes = check_compatibility(old, new)
    for change in changes:
        style = "red" if change.breaking and not change.allowed else "yellow"
        console.print(f"[{style}]{change}[/]", highlight=False)
    if not ok:
        err.print("[bold red]breaking changes without a new contract version[/]")
        raise typer.Exit(1)
    console.print("compatible")


@docs_app.command("connectors")
def docs_connectors(
    directory: Annotated[Path, typer.Argument(help="Output folder.")] = Path("docs/connectors"),
) -> None:
    """Write the connector reference (one Markdown file per connector type)."""
    from interlock.docgen import write_reference

    written = write_reference(directory)
    console.print(f"wrote {len(written)} files to {directory}")


def main() -> None:
    """Entry point."""
    app()


if __name__ == "__main__":
    main()
