"""Operator commands: exceptions and their actions, holds, runs, replay."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from interlock.exceptions import ContractViolation, InterlockError
from interlock.settings import DEFAULT_DATABASE_URL, load_settings
from interlock.status import run_detail
from interlock.store import Store, exception_queue, holds, runs

exceptions_app = typer.Typer(help="The exception queue and its actions.", no_args_is_help=True)
holds_app = typer.Typer(help="Holds that block dependent work.", no_args_is_help=True)
runs_app = typer.Typer(help="Flow runs and their steps.", no_args_is_help=True)

console = Console()
err = Console(stderr=True)

DatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url", envvar="INTERLOCK_DATABASE_URL", help="SQLAlchemy database URL."
    ),
]
Actor = Annotated[
    str,
    typer.Option(
        envvar="INTERLOCK_ACTOR", help="Who acts (recorded in the audit log); default: login name."
    ),
]
Note = Annotated[str | None, typer.Option(envvar="INTERLOCK_NOTE", help="Why (audited).")]
TopologyFile = Annotated[
    Path, typer.Option("--topology", envvar="INTERLOCK_TOPOLOGY", help="YAML topology file.")
]


def _actor(actor: str) -> str:
    return actor or getpass.getuser()


@contextmanager
def _store(database_url: str) -> Iterator[Store]:
    try:
        store = Store(load_settings(database_url=database_url).database_url)
    except InterlockError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(2) from None
    try:
        yield store
    except InterlockError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        store.close()


def _print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


@exceptions_app.command("list")
def exceptions_list(
    status: Annotated[str | None, typer.Option(envvar="INTERLOCK_STATUS")] = "open",
    team: Annotated[str | None, typer.Option(envvar="INTERLOCK_TEAM")] = None,
    flow: Annotated[str | None, typer.Option(envvar="INTERLOCK_FLOW")] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """List exceptions (open ones by default; --status all for every one)."""
    with _store(database_url) as store, store.transaction() as conn:
        items = exception_queue.listing(
            conn, status=None if status == "all" else status, team=team, flow=flow
        )
    table = Table("id", "team", "category", "flow", "key", "status", "reason")
    for item in items:
        table.add_row(
            str(item["id"]),
            item["team"],
            item["category"],
            item["flow"],
            item["business_key"],
            item["status"],
            item["reason"],
        )
    console.print(table)


@exceptions_app.command("show")
def exceptions_show(exception_id: int, database_url: DatabaseUrl = DEFAULT_DATABASE_URL) -> None:
    """Show one exception with its payload snapshot and last error."""
    with _store(database_url) as store, store.transaction() as conn:
        found = exception_queue.get(conn, exception_id)
    if found is None:
        err.print(f"no exception {exception_id}")
        raise typer.Exit(1)
    _print_json(found)


def _act(database_url: str, action: str, exception_id: int, actor: str, note: str | None) -> None:
    from interlock.engine import actions

    with _store(database_url) as store:
        if action == "retry":
            outcome = actions.retry(store, exception_id, _actor(actor))
        elif action == "skip":
            outcome = actions.skip(store, exception_id, _actor(actor), note)
        else:
            outcome = actions.resolve(store, exception_id, _actor(actor), note)
    _print_json(outcome)


@exceptions_app.command("retry")
def exceptions_retry(
    exception_id: int,
    actor: Actor = "",
    note: Note = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Run the failed run again from the step that failed."""
    _act(database_url, "retry", exception_id, actor, note)


@exceptions_app.command("skip")
def exceptions_skip(
    exception_id: int,
    actor: Actor = "",
    note: Note = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Give the work up; its holds are released."""
    _act(database_url, "skip", exception_id, actor, note)


@exceptions_app.command("resolve")
def exceptions_resolve(
    exception_id: int,
    actor: Actor = "",
    note: Note = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Mark it fixed outside the hub; its holds are released."""
    _act(database_url, "resolve", exception_id, actor, note)


@exceptions_app.command("edit")
def exceptions_edit(
    exception_id: int,
    payload_file: Annotated[
        Path,
        typer.Option(
            "--payload", envvar="INTERLOCK_PAYLOAD", help="JSON file with the corrected payload."
        ),
    ],
    topology: TopologyFile,
    actor: Actor = "",
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Replace the payload (validated first) and run the work again."""
    from interlock.engine import actions
    from interlock.runtime import build_hub
    from interlock.topology import load_topology

    payload = json.loads(payload_file.read_text())
    settings = load_settings(database_url=database_url)
    try:
        hub = build_hub(settings, load_topology(topology), source=str(topology))
    except InterlockError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(2) from None
    try:
        flows = {flow.name: flow for flow in hub.flows}
        outcome = actions.edit_and_retry(
            hub.store, exception_id, _actor(actor), payload, flows, hub.systems
        )
    except ContractViolation as exc:
        err.print("[bold red]the edit is invalid:[/]")
        for problem in exc.problems:
            err.print(f"  {problem.field}: {problem.rule}", highlight=False)
        raise typer.Exit(1) from None
    except InterlockError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        hub.close()
    _print_json(outcome)


@holds_app.command("list")
def holds_list(
    key: Annotated[str | None, typer.Option(envvar="INTERLOCK_KEY")] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """List active holds and how many events wait behind each."""
    with _store(database_url) as store, store.transaction() as conn:
        items = holds.listing(conn, key=key)
    table = Table("id", "key", "blocks", "parked", "since", "reason")
    for item in items:
        table.add_row(
            str(item["id"]),
            item["key"],
            ", ".join(item["flows"]),
            str(item["parked"]),
            item["created_at"].isoformat(timespec="seconds"),
            item["reason"],
        )
    console.print(table)


@holds_app.command("release")
def holds_release(
    hold_id: int,
    actor: Actor = "",
    note: Note = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Release a hold; parked events resume in order."""
    from interlock.engine import actions

    with _store(database_url) as store:
        _print_json(actions.release_hold(store, hold_id, _actor(actor), note))


@runs_app.command("list")
def runs_list(
    status: Annotated[str | None, typer.Option(envvar="INTERLOCK_STATUS")] = None,
    flow: Annotated[str | None, typer.Option(envvar="INTERLOCK_FLOW")] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """List runs, newest first."""
    with _store(database_url) as store, store.transaction() as conn:
        items = runs.listing(conn, status=status, flow=flow)
    table = Table("id", "flow", "key", "status", "started")
    for item in items:
        table.add_row(
            item["id"],
            item["flow"],
            item["business_key"],
            item["status"],
            item["started_at"].isoformat(timespec="seconds"),
        )
    console.print(table)


@runs_app.command("show")
def runs_show(run_id: str, database_url: DatabaseUrl = DEFAULT_DATABASE_URL) -> None:
    """Show a run with each stored step."""
    with _store(database_url) as store, store.transaction() as conn:
        detail = run_detail(conn, run_id)
    if detail is None:
        err.print(f"no run {run_id}")
        raise typer.Exit(1)
    _print_json(detail)


def replay_command(
    topology: TopologyFile,
    type_: Annotated[str | None, typer.Option("--type", envvar="INTERLOCK_REPLAY_TYPE")] = None,
    subject: Annotated[str | None, typer.Option(envvar="INTERLOCK_REPLAY_SUBJECT")] = None,
    source: Annotated[str | None, typer.Option(envvar="INTERLOCK_REPLAY_SOURCE")] = None,
    since: Annotated[dt.datetime | None, typer.Option(envvar="INTERLOCK_REPLAY_SINCE")] = None,
    until: Annotated[dt.datetime | None, typer.Option(envvar="INTERLOCK_REPLAY_UNTIL")] = None,
    dry_run: Annotated[bool, typer.Option(envvar="INTERLOCK_REPLAY_DRY_RUN")] = False,
    actor: Actor = "",
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Re-run journaled events by filter; --dry-run lists what would happen."""
    from interlock.engine.replay import ReplayFilter, replay
    from interlock.runtime import build_hub
    from interlock.topology import load_topology

    def utc(moment: dt.datetime | None) -> dt.datetime | None:
        return None if moment is None else moment.replace(tzinfo=moment.tzinfo or dt.UTC)

    settings = load_settings(database_url=database_url)
    try:
        hub = build_hub(settings, load_topology(topology), source=str(topology))
        where = ReplayFilter(
            type=type_, subject=subject, source=source, since=utc(since), until=utc(until)
        )
        items = replay(
            hub.store,
            where,
            hub.flows,
            hub.systems,
            hub.roles,
            actor=_actor(actor),
            dry_run=dry_run,
        )
    except InterlockError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    table = Table("journal", "type", "subject", "what happens" if dry_run else "replayed")
    for item in items:
        table.add_row(str(item.journal_id), item.type, item.subject or "-", item.plan)
    console.print(table)
    console.print(f"{len(items)} events {'would be' if dry_run else 'were'} replayed")
