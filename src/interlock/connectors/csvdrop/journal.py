"""General-ledger journals from invoices and revenue events: pure, balanced by construction."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from interlock.connectors.csvdrop.config import LedgerAccounts
from interlock.model import FinancialDimensions, Invoice, RevenueEvent

COLUMNS = (
    "journal_id",
    "date",
    "account",
    "debit",
    "credit",
    "currency",
    "description",
    "cost_center",
    "practice",
    "source_id",
)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class Unbalanced(ValueError):
    """A journal's debits and credits differ: a bug, never written to the ERP."""


@dataclass(frozen=True)
class JournalLine:
    """One line of the journal import file; exactly one of ``debit`` and ``credit`` is > 0."""

    journal_id: str
    date: dt.date
    account: str
    debit: Decimal
    credit: Decimal
    currency: str
    description: str
    cost_center: str
    practice: str
    source_id: str

    def as_json(self) -> dict[str, str]:
        """The line as JSON-safe strings (for the outbound ledger)."""
        return {k: v.isoformat() if k == "date" else str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> JournalLine:
        """Read back a line stored with ``as_json``."""
        values: dict[str, Any] = dict(data)
        values["date"] = dt.date.fromisoformat(data["date"])
        values["debit"], values["credit"] = Decimal(data["debit"]), Decimal(data["credit"])
        return cls(**values)


def journal_id(kind: str, canonical_id: str) -> str:
    """The journal id of a record: stable, so a re-run finds the journal it wrote."""
    digest = hashlib.sha256(f"{kind}:{canonical_id}".encode()).hexdigest()[:16]
    return f"IL-{digest.upper()}"


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _booking(dims: FinancialDimensions | None, accounts: LedgerAccounts) -> tuple[str, str]:
    """(cost centre, practice) of the lines: dimensions first, then the practice's centre."""
    practice = (dims.practice_id if dims else None) or ""
    centre = (dims.cost_center if dims else None) or accounts.cost_centers.get(practice, "")
    return centre or accounts.default_cost_center, practice


def _line(base: dict[str, Any], account: str, amount: Decimal, description: str) -> JournalLine:
    """A debit for a positive amount, a credit for a negative one."""
    debit, credit = (amount, ZERO) if amount > 0 else (ZERO, -amount)
    return JournalLine(account=account, debit=debit, credit=credit, description=description, **base)


def invoice_journal(invoice: Invoice, accounts: LedgerAccounts) -> list[JournalLine]:
    """Debit receivables with the total, credit revenue per invoice line (empty if all zero)."""
    centre, practice = _booking(invoice.dimensions, accounts)
    base = {
        "journal_id": journal_id("invoice", invoice.id),
        "date": invoice.issue_date,
        "currency": invoice.currency,
        "cost_center": centre,
        "practice": practice,
        "source_id": invoice.id,
    }
    title = f"Invoice {invoice.number or invoice.id}"
    # The receivable is the invoice total in cents, as billed; a cent lost or gained by
    # rounding the lines one by one goes to the largest line, so the journal balances.
    total = _cents(invoice.total.amount)
    amounts = [_cents(line.amount.amount) for line in invoice.lines]
    drift = total - sum(amounts, ZERO)
    if drift:
        largest = max(range(len(amounts)), key=lambda i: abs(amounts[i]))
        amounts[largest] += drift
    lines = [
        _line(base, accounts.revenue, -amount, _clean(f"{title}: {line.description}"))
        for amount, line in zip(amounts, invoice.lines, strict=True)
        if amount
    ]
    if total:
        lines.insert(0, _line(base, accounts.receivable, total, title))
    check_balanced(lines)
    return lines


def revenue_journal(event: RevenueEvent, accounts: LedgerAccounts) -> list[JournalLine]:
    """Debit unbilled receivables, credit revenue (empty if the amount rounds to zero)."""
    centre, practice = _booking(event.dimensions, accounts)
    amount = _cents(event.amount.amount)
    if not amount:
        return []
    base = {
        "journal_id": journal_id("revenue_event", event.id),
        "date": event.period_end,
        "currency": event.amount.currency,
        "cost_center": centre,
        "practice": practice,
        "source_id": event.id,
    }
    title = (
        f"Revenue ({event.kind.value.replace('_', ' ')}) "
        f"{event.period_start.isoformat()} to {event.period_end.isoformat()}"
    )
    lines = [
        _line(base, accounts.unbilled_receivable, amount, title),
        _line(base, accounts.revenue, -amount, title),
    ]
    check_balanced(lines)
    return lines


def check_balanced(lines: Iterable[JournalLine]) -> None:
    """Raise Unbalanced unless every journal's debits equal its credits."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in lines:
        sums[line.journal_id][0] += line.debit
        sums[line.journal_id][1] += line.credit
    for journal, (debit, credit) in sums.items():
        if debit != credit:
            raise Unbalanced(f"journal {journal} does not balance: debit {debit}, credit {credit}")


def fingerprint(lines: Iterable[JournalLine]) -> str:
    """A hash of a journal's content: a different one means the record changed."""
    text = json.dumps([line.as_json() for line in lines], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render(
    lines: Iterable[JournalLine], *, delimiter: str, decimal: str, date_format: str
) -> bytes:
    """The journal import file: a header row, then one row per line."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for line in lines:
        row = asdict(line)
        row["date"] = line.date.strftime(date_format)
        for key in ("debit", "credit"):
            row[key] = f"{row[key]:.2f}".replace(".", decimal)
        writer.writerow([row[c] for c in COLUMNS])
    return out.getvalue().encode("utf-8")


def _clean(text: str) -> str:
    # Import tools of old ERPs choke on line breaks inside quoted fields.
    return " ".join(text.split())
