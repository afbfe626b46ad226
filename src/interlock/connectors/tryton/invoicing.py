"""Invoicing a project in Tryton: the ``invoice`` button of ``project.work``, then posting.

Tryton links what it invoiced: timesheet lines (timesheet method), works (effort) and
invoiced progress (progress) point at their invoice line. Those links find the project's
invoices, so a repeat neither invoices twice nor leaves a draft behind: a draft from an
interrupted run is posted by the next one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from interlock.connectors.tryton.rpc import TrytonRpc


@dataclass(frozen=True)
class InvoicedLine:
    """One line of a posted invoice. ``task`` is the task work it bills, when known."""

    id: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    task: int | None


@dataclass(frozen=True)
class ProjectInvoice:
    """A posted Tryton invoice of a project.

    Attributes:
        id: The ``account.invoice`` id.
        number: Its number once posted (``INV-2026-0001``).
        state: Tryton state (``posted``).
        invoice_date: Its date (set when posted).
        total_amount: Total with taxes, in ``currency``.
        currency: ISO code.
        lines: The invoice lines.
        created: True when this call created it, False when it came from an earlier call.
    """

    id: int
    number: str | None
    state: str
    invoice_date: dt.date | None
    total_amount: Decimal
    currency: str
    lines: tuple[InvoicedLine, ...]
    created: bool


def _invoice_lines_of(rpc: TrytonRpc, works: list[int]) -> dict[int, int | None]:
    """Invoice line id → the task work it bills, for everything invoiced on ``works``."""
    found: dict[int, int | None] = {}
    rows = rpc.read("project.work", works, ["timesheet_works", "invoice_line"])
    timesheet_work = {tw: row["id"] for row in rows for tw in row["timesheet_works"]}
    for row in rows:
        if row["invoice_line"]:
            found[int(row["invoice_line"])] = int(row["id"])
    if timesheet_work:
        lines = rpc.search_read(
            "timesheet.line",
            [("work", "in", sorted(timesheet_work)), ("invoice_line", "!=", None)],
            ["invoice_line", "work"],
        )
        for line in lines:
            found[int(line["invoice_line"])] = int(timesheet_work[line["work"]])
    progress = rpc.search_read(
        "project.work.invoiced_progress",
        [("work", "in", works), ("invoice_line", "!=", None)],
        ["invoice_line", "work"],
    )
    for row in progress:
        found[int(row["invoice_line"])] = int(row["work"])
    return found


def _invoices_of(rpc: TrytonRpc, works: list[int]) -> tuple[set[int], dict[int, int | None]]:
    lines = _invoice_lines_of(rpc, works)
    rows = rpc.read("account.invoice.line", sorted(lines), ["invoice"])
    return {int(r["invoice"]) for r in rows if r["invoice"]}, lines


def invoice_project(
    rpc: TrytonRpc, project: int, up_to: dt.date | None = None
) -> ProjectInvoice | None:
    """Invoice what is due on the project (timesheet lines up to ``up_to``) and post it.

    Returns the invoice this call created, else the project's latest invoice (nothing was
    due), or None when the project has never been invoiced.
    """
    works = rpc.search("project.work", [("parent", "child_of", [project])])
    before, _ = _invoices_of(rpc, works)
    limit = "project_invoice_timesheet_up_to"
    (row,) = rpc.read("project.work", [project], ["amount_to_invoice", limit])
    if up_to is not None and row[limit] != up_to:
        rpc.write("project.work", [project], {limit: up_to})
        (row,) = rpc.read("project.work", [project], ["amount_to_invoice"])
    if (row["amount_to_invoice"] or Decimal(0)) > 0:
        rpc.button("project.work", "invoice", [project])
    invoices, lines = _invoices_of(rpc, works)
    if not invoices:
        return None
    drafts = rpc.search(
        "account.invoice", [("id", "in", sorted(invoices)), ("state", "=", "draft")]
    )
    if drafts:
        rpc.button("account.invoice", "post", drafts)
    latest = max(invoices)
    return _read(rpc, latest, lines, created=latest not in before)


def _read(
    rpc: TrytonRpc, invoice: int, tasks: dict[int, int | None], *, created: bool
) -> ProjectInvoice:
    (row,) = rpc.read(
        "account.invoice",
        [invoice],
        ["number", "state", "invoice_date", "total_amount", "currency.code", "lines"],
    )
    lines = rpc.read(
        "account.invoice.line", row["lines"], ["description", "quantity", "unit_price", "amount"]
    )
    return ProjectInvoice(
        id=invoice,
        number=row["number"],
        state=row["state"],
        invoice_date=row["invoice_date"],
        total_amount=row["total_amount"],
        currency=row["currency."]["code"],
        lines=tuple(
            InvoicedLine(
                id=line["id"],
                description=line["description"] or "",
                quantity=Decimal(str(line["quantity"])),
                unit_price=line["unit_price"],
                amount=line["amount"],
                task=tasks.get(line["id"]),
            )
            for line in lines
        ),
        created=created,
    )
