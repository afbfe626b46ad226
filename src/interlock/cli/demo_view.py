"""Rendering of ``interlock demo``: progress bar and summary tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from interlock.demo import DemoResult, run_demo

if TYPE_CHECKING:
    from interlock.tryton_demo import TrytonDemoResult


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


def _rejections(result: DemoResult | TrytonDemoResult) -> Table:
    table = Table(
        title="Rejections (nothing was created downstream; payload kept)", title_justify="left"
    )
    table.add_column("deal")
    table.add_column("owner")
    table.add_column("field: rule")
    for rejection in result.rejections:
        table.add_row(rejection.deal, rejection.team or "-", "\n".join(rejection.reasons))
    return table


_PHASES = {
    "mobilize": "mobilising deals",
    "post_time": "posting approved time",
    "invoice_project": "invoicing projects",
}


def show_tryton_demo(
    console: Console, *, database: Path, deals: int, seed: int, bad_share: float, cache: Path
) -> TrytonDemoResult:
    """Run the Tryton demo with a progress bar per phase, then print what happened."""
    from interlock.tryton_demo import run_tryton_demo

    console.print(
        f"[bold]Interlock demo with Tryton[/]: a generated firm wins {deals} deals in the "
        "Salesforce sandbox; a real Tryton (ERP and PSA) gets customers, projects, tasks at "
        "the contracted rates and staffing; approved time is posted and each billing period "
        f"invoiced. Store: SQLite at {database}; Tryton: {cache}."
    )
    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        result = run_tryton_demo(
            database,
            deals=deals,
            seed=seed,
            bad_share=bad_share,
            cache=cache,
            progress=update,
            say=console.print,
        )
    console.print(_tryton_summary(result))
    console.print(_invoices(result))
    if result.rejections:
        console.print(_rejections(result))
    return result


def _tryton_summary(result: TrytonDemoResult) -> Table:
    table = Table(title="Summary", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [
        ("Deals won in Salesforce", str(result.won)),
        ("Projects mobilised (won → ready)", str(result.mobilized)),
        ("Deals rejected for bad metadata", str(len(result.rejections))),
        ("Customers in Tryton", str(result.customers)),
        ("Projects / tasks in Tryton", f"{result.projects} / {result.tasks}"),
        (
            "Consultants staffed (employees / allocations)",
            f"{result.employees} / {result.allocations}",
        ),
        ("Approved time entries published", str(result.time_entries)),
        ("Timesheet lines in Tryton (hours)", f"{result.timesheet_lines} ({result.hours:.2f} h)"),
        ("Invoices posted in Tryton", str(sum(1 for b in result.invoices if b.number))),
        ("Person's change in Tryton recorded", "yes" if result.person_change_recorded else "no"),
        ("Own writes read back and dropped as echoes", str(result.echoes_dropped)),
        ("Duplicate 'won' events refused", str(result.duplicates_refused)),
        ("Failed runs", str(result.failed)),
        ("Tryton ready (template, trytond)", _seconds(result.template_seconds)),
        ("Demo wall time", _seconds(result.elapsed)),
    ]
    for what, count in rows:
        table.add_row(what, count)
    return table


_BILLING = {"time_and_materials": "T&M", "fixed_fee": "fixed fee", "milestone": "milestone"}


def _invoices(result: TrytonDemoResult) -> Table:
    table = Table(
        title="Invoices: expected = approved hours × contracted rate",
        title_justify="left",
        caption="Fixed-fee and milestone projects bill on progress or milestones, not on "
        "time: nothing of theirs is due yet.",
        caption_justify="left",
    )
    table.add_column("project")
    table.add_column("billing")
    table.add_column("invoice")
    table.add_column("total", justify="right")
    table.add_column("expected", justify="right")
    table.add_column("", justify="center")
    for billed in result.invoices:
        by_time = billed.billing == "time_and_materials"
        table.add_row(
            billed.project,
            _BILLING.get(billed.billing, billed.billing),
            billed.number or "-",
            f"{billed.total:,.2f}",
            f"{billed.expected:,.2f}" if by_time else "-",
            ("✓" if billed.total == billed.expected else "✗") if by_time else "",
        )
    return table
