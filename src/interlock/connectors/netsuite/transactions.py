"""Time, expenses and invoices ↔ NetSuite time bills, expense reports and invoices. Pure.

Native shapes we chose:

* timeBill: ``employee``, ``customer`` = the project (NetSuite books time on a project through
  ``customer``), ``caseTaskEvent`` = the project task (or cleared), ``item`` = the configured
  service item, ``tranDate``, ``hours`` as ``H:MM`` (to the minute), ``isBillable``,
  ``memo`` = description, ``approvalStatus`` from the state (table below).
* expenseReport: ``entity`` = the employee, ``tranDate``, ``complete`` = submitted or
  approved, ``supervisorapproval`` and ``accountingapproval`` = approved, one ``expense``
  line (``expensedate``, ``category`` = the expense category named like the canonical
  category, ``amount``, ``currency``, ``customer`` = the project, ``isBillable``, ``memo`` =
  receipt URL). Written with ``replace=expense``, so a repeat does not add a line.
* invoice: ``entity`` = the customer, ``job`` = the project, ``tranDate`` = issue date,
  ``dueDate``, ``currency``, ``otherRefNum`` = PO number, ``tranId`` = number when there is
  one (else NetSuite numbers it), one ``item`` line per canonical line (configured service
  item, ``description``, ``quantity``, ``rate``, ``amount``). Written with ``replace=item``.
  NetSuite computes ``subtotal`` and ``total``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from interlock.connectors.netsuite.wire import (
    Record,
    decimal,
    duration,
    hours_of,
    linked_id,
    number,
    own_id,
    ref,
    ref_id,
    ref_name,
)
from interlock.exceptions import Team
from interlock.model import (
    ApprovalState,
    Expense,
    Invoice,
    InvoiceStatus,
    TimeEntry,
    validate_contract,
)

TIME_APPROVAL_IDS = {
    ApprovalState.DRAFT: "1",  # Open
    ApprovalState.SUBMITTED: "2",  # Pending Approval
    ApprovalState.APPROVED: "3",  # Approved
    ApprovalState.REJECTED: "4",  # Rejected
}
"""Interlock assumption: the catalog lists ids "1".."4" without labels."""
TIME_APPROVALS = {native: state for state, native in TIME_APPROVAL_IDS.items()}
EXPENSE_STATES = {
    "A": ApprovalState.DRAFT,
    "B": ApprovalState.SUBMITTED,
    "C": ApprovalState.SUBMITTED,
    "D": ApprovalState.REJECTED,
    "E": ApprovalState.REJECTED,
    "F": ApprovalState.APPROVED,
    "G": ApprovalState.APPROVED,
    "H": ApprovalState.REJECTED,
    "I": ApprovalState.APPROVED,  # paid in full
    "V": ApprovalState.REJECTED,  # voided
}
INVOICE_STATES = {
    "A": InvoiceStatus.POSTED,  # Open
    "B": InvoiceStatus.PAID,
    "D": InvoiceStatus.DRAFT,  # Pending Approval
    "E": InvoiceStatus.CANCELLED,  # Rejected
    "V": InvoiceStatus.CANCELLED,  # Voided
}


def time_entry_to_native(
    entry: TimeEntry,
    *,
    employee_id: str,
    project_id: str,
    task_id: str | None,
    service_item_id: str,
) -> dict[str, Any]:
    """The body of ``PUT timeBill/eid:<entry.id>``."""
    return {
        "employee": {"id": employee_id},
        "customer": {"id": project_id},
        "caseTaskEvent": ref(task_id),
        "item": {"id": service_item_id},
        "tranDate": entry.date.isoformat(),
        "hours": duration(entry.hours),
        "isBillable": entry.billable,
        "memo": entry.description,
        "approvalStatus": {"id": TIME_APPROVAL_IDS[entry.state]},
    }


def time_entry_from_native(record: Record, system: str) -> TimeEntry:
    """A time entry from a time bill. Raises ContractViolation naming what is missing."""
    data = {
        "id": own_id("time_entry", system, record),
        "project_id": linked_id("project", system, record.get("customer")),
        "task_id": linked_id("task", system, record.get("caseTaskEvent")),
        "consultant_id": linked_id("consultant", system, record.get("employee")),
        "date": record.get("tranDate"),
        "hours": hours_of(record.get("hours")),
        "billable": bool(record.get("isBillable", False)),
        "state": TIME_APPROVALS.get(ref_id(record.get("approvalStatus")) or "1"),
        "description": record.get("memo"),
    }
    return validate_contract(
        TimeEntry, data, subject=f"netsuite timeBill {record.get('id')}", team=Team.FINANCE
    )


def expense_to_native(
    expense: Expense,
    *,
    employee_id: str,
    project_id: str,
    category_id: str,
    currency_id: str,
) -> dict[str, Any]:
    """The body of ``PUT expenseReport/eid:<expense.id>?replace=expense``."""
    approved = expense.state is ApprovalState.APPROVED
    line = {
        "expensedate": expense.date.isoformat(),
        "category": {"id": category_id},
        "amount": number(expense.amount.amount),
        "currency": {"id": currency_id},
        "customer": {"id": project_id},
        "isBillable": expense.billable,
        "memo": expense.receipt_url,
    }
    return {
        "entity": {"id": employee_id},
        "tranDate": expense.date.isoformat(),
        "complete": expense.state in (ApprovalState.SUBMITTED, ApprovalState.APPROVED),
        "supervisorapproval": approved,
        "accountingapproval": approved,
        "expense": {"items": [{k: v for k, v in line.items() if v is not None}]},
    }


def expense_from_native(record: Record, system: str, currencies: Mapping[str, str]) -> Expense:
    """An expense from an expense report read with its lines (the first line's details).

    ``currencies`` maps NetSuite currency ids to ISO codes.
    """
    lines = (record.get("expense") or {}).get("items") or [{}]
    first = lines[0]
    currency = ref_id(first.get("currency")) or ref_id(record.get("expensereportcurrency")) or ""
    data = {
        "id": own_id("expense", system, record),
        "project_id": linked_id("project", system, first.get("customer")),
        "consultant_id": linked_id("consultant", system, record.get("entity")),
        "date": first.get("expensedate") or record.get("tranDate"),
        "category": ref_name(first.get("category")),
        "amount": {
            "amount": decimal(record.get("total")),
            "currency": currencies.get(currency or ""),
        },
        "billable": bool(first.get("isBillable", False)),
        "state": EXPENSE_STATES.get(ref_id(record.get("status")) or "A"),
        "receipt_url": first.get("memo"),
    }
    return validate_contract(
        Expense, data, subject=f"netsuite expenseReport {record.get('id')}", team=Team.FINANCE
    )


def invoice_to_native(
    invoice: Invoice,
    *,
    customer_id: str,
    project_id: str | None,
    currency_id: str,
    service_item_id: str,
) -> dict[str, Any]:
    """The body of ``PUT invoice/eid:<invoice.id>?replace=item``."""
    body: dict[str, Any] = {
        "entity": {"id": customer_id},
        "job": ref(project_id),
        "tranDate": invoice.issue_date.isoformat(),
        "dueDate": invoice.due_date.isoformat() if invoice.due_date else None,
        "currency": {"id": currency_id},
        "otherRefNum": invoice.po_number,
        "item": {
            "items": [
                {
                    "item": {"id": service_item_id},
                    "description": line.description,
                    "quantity": number(line.quantity),
                    "rate": number(line.unit_price.amount),
                    "amount": number(line.amount.amount),
                }
                for line in invoice.lines
            ]
        },
    }
    if invoice.number:
        body["tranId"] = invoice.number
    return body


def invoice_from_native(record: Record, system: str, currencies: Mapping[str, str]) -> Invoice:
    """An invoice from an invoice record read with its lines."""
    currency = currencies.get(ref_id(record.get("currency")) or "")
    data = {
        "id": own_id("invoice", system, record),
        "customer_id": linked_id("customer", system, record.get("entity")),
        "project_id": linked_id("project", system, record.get("job")),
        "number": record.get("tranId"),
        "currency": currency,
        "issue_date": record.get("tranDate"),
        "due_date": record.get("dueDate"),
        "status": INVOICE_STATES.get(ref_id(record.get("status")) or "A"),
        "po_number": record.get("otherRefNum"),
        "lines": [_line(line, currency) for line in (record.get("item") or {}).get("items", [])],
    }
    return validate_contract(
        Invoice, data, subject=f"netsuite invoice {record.get('id')}", team=Team.FINANCE
    )


def _line(line: Record, currency: str | None) -> dict[str, Any]:
    amount = decimal(line.get("amount"))
    quantity = decimal(line.get("quantity")) or Decimal(1)
    rate = decimal(line.get("rate"))
    if rate is None and amount is not None:
        rate = (amount / quantity).quantize(Decimal("0.0001"))
    return {
        "description": line.get("description") or ref_name(line.get("item")),
        "quantity": quantity,
        "unit_price": {"amount": rate, "currency": currency},
        "amount": {"amount": amount, "currency": currency},
    }
