"""General-ledger journals: balanced, rounded line by line, booked on the right dimensions."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from interlock.connectors.csvdrop import LedgerAccounts
from interlock.connectors.csvdrop.journal import (
    COLUMNS,
    JournalLine,
    Unbalanced,
    check_balanced,
    fingerprint,
    invoice_journal,
    journal_id,
    render,
    revenue_journal,
)
from interlock.model import FinancialDimensions, Invoice, RevenueEvent

ACCOUNTS = LedgerAccounts(cost_centers={"practice_data": "CC-DATA"}, default_cost_center="CC-0")


def invoice(*amounts: str, dims: FinancialDimensions | None = None) -> Invoice:
    lines = [
        {
            "description": f"Line {i}",
            "quantity": "1",
            "unit_price": {"amount": a, "currency": "EUR"},
            "amount": {"amount": a, "currency": "EUR"},
        }
        for i, a in enumerate(amounts)
    ]
    return Invoice.model_validate(
        {
            "id": "invoice_1",
            "customer_id": "customer_1",
            "number": "INV-1",
            "currency": "EUR",
            "issue_date": "2024-05-31",
            "lines": lines,
            "dimensions": dims,
        }
    )


def totals(lines: list[JournalLine]) -> tuple[Decimal, Decimal]:
    return sum(ln.debit for ln in lines), sum(ln.credit for ln in lines)  # type: ignore[return-value]


def test_an_invoice_debits_receivables_and_credits_revenue_per_line() -> None:
    lines = invoice_journal(invoice("1000.00", "250.50"), ACCOUNTS)
    assert [(ln.account, ln.debit, ln.credit) for ln in lines] == [
        ("1200", Decimal("1250.50"), Decimal("0.00")),
        ("4000", Decimal("0.00"), Decimal("1000.00")),
        ("4000", Decimal("0.00"), Decimal("250.50")),
    ]
    assert {ln.journal_id for ln in lines} == {journal_id("invoice", "invoice_1")}
    assert {ln.source_id for ln in lines} == {"invoice_1"}
    assert {ln.date for ln in lines} == {dt.date(2024, 5, 31)}
    assert lines[1].description == "Invoice INV-1: Line 0"


def test_sub_cent_amounts_are_rounded_per_line_and_still_balance() -> None:
    lines = invoice_journal(invoice("0.3333", "0.3333", "0.3334"), ACCOUNTS)
    assert (lines[0].account, lines[0].debit) == ("1200", Decimal("1.00"))  # as billed
    assert [ln.credit for ln in lines[1:]] == [Decimal("0.34"), Decimal("0.33"), Decimal("0.33")]
    debit, credit = totals(lines)
    assert debit == credit


def test_a_credit_line_is_a_revenue_debit_and_a_credit_note_credits_receivables() -> None:
    lines = invoice_journal(invoice("100.00", "-150.00"), ACCOUNTS)
    assert [(ln.account, ln.debit, ln.credit) for ln in lines] == [
        ("1200", Decimal("0.00"), Decimal("50.00")),
        ("4000", Decimal("0.00"), Decimal("100.00")),
        ("4000", Decimal("150.00"), Decimal("0.00")),
    ]


def test_an_all_zero_invoice_has_nothing_to_post() -> None:
    assert invoice_journal(invoice("0.00", "0.001"), ACCOUNTS) == []


def test_cost_centre_comes_from_dimensions_then_the_practice_then_the_default() -> None:
    explicit = FinancialDimensions(practice_id="practice_data", cost_center="CC-X")
    by_practice = FinancialDimensions(practice_id="practice_data")
    unknown = FinancialDimensions(practice_id="practice_cloud")

    def booked(dims: FinancialDimensions | None) -> tuple[str, str]:
        first = invoice_journal(invoice("1", dims=dims), ACCOUNTS)[0]
        return first.cost_center, first.practice

    assert booked(explicit) == ("CC-X", "practice_data")
    assert booked(by_practice) == ("CC-DATA", "practice_data")
    assert booked(unknown) == ("CC-0", "practice_cloud")
    assert booked(None) == ("CC-0", "")


def test_a_revenue_event_debits_unbilled_receivables() -> None:
    event = RevenueEvent.model_validate(
        {
            "id": "revenue_event_1",
            "project_id": "project_1",
            "kind": "time_and_materials",
            "period_start": "2024-05-01",
            "period_end": "2024-05-31",
            "amount": {"amount": "4200.005", "currency": "USD"},
        }
    )
    lines = revenue_journal(event, ACCOUNTS)
    assert [(ln.account, ln.debit, ln.credit, ln.currency) for ln in lines] == [
        ("1210", Decimal("4200.00"), Decimal("0.00"), "USD"),
        ("4000", Decimal("0.00"), Decimal("4200.00"), "USD"),
    ]
    assert lines[0].date == dt.date(2024, 5, 31)


def test_an_unbalanced_journal_is_refused() -> None:
    lines = invoice_journal(invoice("10.00"), ACCOUNTS)
    tampered = [lines[0], JournalLine(**{**lines[1].__dict__, "credit": Decimal("9.99")})]
    with pytest.raises(Unbalanced, match="does not balance"):
        check_balanced(tampered)


def test_the_file_has_the_documented_columns_and_formats() -> None:
    lines = invoice_journal(invoice("1234.5"), ACCOUNTS)
    data = render(lines, delimiter=";", decimal=",", date_format="%d.%m.%Y")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8")), delimiter=";"))
    assert tuple(rows[0]) == COLUMNS
    assert rows[1][1:5] == ["31.05.2024", "1200", "1234,50", "0,00"]
    assert data.endswith(b"\r\n")


def test_the_fingerprint_follows_the_content() -> None:
    assert fingerprint(invoice_journal(invoice("10"), ACCOUNTS)) == fingerprint(
        invoice_journal(invoice("10.00"), ACCOUNTS)
    )
    assert fingerprint(invoice_journal(invoice("10"), ACCOUNTS)) != fingerprint(
        invoice_journal(invoice("11"), ACCOUNTS)
    )


def test_stored_lines_read_back_equal() -> None:
    lines = invoice_journal(invoice("10"), ACCOUNTS)
    assert [JournalLine.from_json(ln.as_json()) for ln in lines] == lines
