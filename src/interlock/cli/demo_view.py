"""Rendering of ``interlock demo``: progress bar and summary tables."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from interlock.demo import DemoResult, run_demo


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def show_demo(
    console: Console,
    *,
    database: Path,
    deals: int,
    seed: int,
    bad_share: float,
    chaos: bool = False,
) -> DemoResult:
    """Run the demo with a progress bar, then print what happened."""
    console.print(
        f"[bold]Interlock demo[/]: a generated firm wins {deals} deals in the "
        "Salesforce sandbox; the hub mobilises them into Kantata (PSA) and "
        f"NetSuite (ERP). Store: SQLite at {database}."
        + (" Chaos: the PSA and ERP fail one request in five." if chaos else "")
    )
    with Progress(
        TextColumn("mobilising deals"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("deals", total=deals)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_demo(
            database, deals=deals, seed=seed, bad_share=bad_share, progress=update, chaos=chaos
        )
    console.print(_summary(result))
    if result.rejections:
        console.print(_rejections(result))
    return result


def _summary(result: DemoResult) -> Table:
    table = Table(title="Summary", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [
        ("Deals won in Salesforce", str(result.won)),
        ("Projects mobilised (won → ready)", str(result.mobilized)),
        ("Projects created in Kantata (PSA)", str(result.psa_projects)),
        ("Tasks created in Kantata", str(result.psa_tasks)),
        ("Staffing demand allocations in Float", str(result.scheduler_demand)),
        ("Customers in NetSuite (ERP)", str(result.erp_customers)),
        ("Projects (jobs) created in NetSuite", str(result.erp_projects)),
        ("Deals rejected for bad metadata", str(len(result.rejections))),
        ("Failed runs", str(result.failed)),
        ("Faults injected by the sandboxes", str(result.faults_injected)),
        ("Duplicate 'won' events refused", str(result.duplicates_refused)),
        ("Set-up cycle time p50", _seconds(result.cycle_p50)),
        ("Set-up cycle time p95", _seconds(result.cycle_p95)),
        ("Demo wall time", _seconds(result.elapsed)),
    ]
    for what, count in rows:
        table.add_row(what, count)
    return table


def _rejections(result: DemoResult) -> Table:
    table = Table(
        title="Rejections (nothing was created downstream; payload kept)", title_justify="left"
    )
    table.add_column("deal")
    table.add_column("owner")
    table.add_column("field: rule")
    for rejection in result.rejections:
        table.add_row(rejection.deal, rejection.team or "-", "\n".join(rejection.reasons))
    return table
