"""Customers (``party.party`` with an address) and consultants (party + employee + cost).

Both are found by the ``party.identifier`` whose code is our marker, archived ones too,
so a replay never creates a second party.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from interlock.connectors.base import UpsertResult
from interlock.connectors.tryton import mapping
from interlock.connectors.tryton.company import Company
from interlock.connectors.tryton.rpc import TrytonRpc
from interlock.exceptions import RecordRejected
from interlock.model import Consultant, Customer

_ANY_ACTIVE = ("active", "in", [True, False])


def find_party(rpc: TrytonRpc, kind: str, cid: str) -> int | None:
    """The party carrying the marker of ``kind`` ``cid``, or None."""
    found = rpc.search(
        "party.party",
        [("identifiers.code", "=", mapping.marker(kind, cid)), _ANY_ACTIVE],
        order=[("id", "ASC")],
        limit=1,
    )
    return found[0] if found else None


def find_employee(rpc: TrytonRpc, company: Company, cid: str) -> int | None:
    """The employee of the consultant ``cid`` in our company, or None."""
    party = find_party(rpc, "consultant", cid)
    if party is None:
        return None
    found = rpc.search(
        "company.employee",
        [("party", "=", party), ("company", "=", company.id)],
        order=[("id", "ASC")],
        limit=1,
    )
    return found[0] if found else None


def upsert_customer(rpc: TrytonRpc, customer: Customer) -> UpsertResult:
    """Create or update the customer's party and its (first) address."""
    party = find_party(rpc, "customer", customer.id)
    if party is None:
        (party,) = rpc.create("party.party", [mapping.party_values(customer, "customer")])
        return UpsertResult(str(party), created=True)
    (row,) = rpc.read("party.party", [party], ["name", "addresses"])
    if row["name"] != customer.name:
        rpc.write("party.party", [party], {"name": customer.name})
    wanted = mapping.address_values(customer)
    if not row["addresses"]:
        rpc.create("party.address", [{"party": party, **wanted}])
    elif wanted:
        (address,) = rpc.read("party.address", row["addresses"][:1], list(wanted))
        changed = {k: v for k, v in wanted.items() if address.get(k) != v}
        rpc.write("party.address", [address["id"]], changed)
    return UpsertResult(str(party), created=False)


def _cost_rate(rpc: TrytonRpc, company: Company, consultant: Consultant) -> Any:
    rate = consultant.cost_rate
    if rate is None:
        return None
    if rate.currency != company.currency:
        raise RecordRejected(
            rpc.system,
            f"consultant {consultant.id}: cost rate in {rate.currency}, but the Tryton "
            f"company works in {company.currency}",
            fields=("cost_rate.currency",),
        )
    return rate.amount


def upsert_consultant(
    rpc: TrytonRpc, company: Company, consultant: Consultant, cost_prices_from: dt.date
) -> UpsertResult:
    """Create or update the consultant's party, employee and current cost price.

    A new employee's first cost price applies from ``cost_prices_from``; a changed cost
    rate applies from today, so time already booked keeps its cost.
    """
    cost = _cost_rate(rpc, company, consultant)
    party = find_party(rpc, "consultant", consultant.id)
    created = party is None
    if party is None:
        (party,) = rpc.create("party.party", [mapping.party_values(consultant, "consultant")])
    else:
        (row,) = rpc.read("party.party", [party], ["name"])
        if row["name"] != consultant.name:
            rpc.write("party.party", [party], {"name": consultant.name})
    employee = find_employee(rpc, company, consultant.id)
    if employee is None:
        prices = [] if cost is None else [{"date": cost_prices_from, "cost_price": cost}]
        values = {"party": party, "company": company.id, "cost_prices": [["create", prices]]}
        (employee,) = rpc.create("company.employee", [values])
        return UpsertResult(str(employee), created=True)
    if cost is not None:
        _update_cost(rpc, employee, cost, cost_prices_from)
    return UpsertResult(str(employee), created=created)


def _update_cost(rpc: TrytonRpc, employee: int, cost: Any, first: dt.date) -> None:
    rows = rpc.search_read(
        "company.employee_cost_price",
        [("employee", "=", employee)],
        ["date", "cost_price"],
        order=[("date", "ASC")],
    )
    if rows and rows[-1]["cost_price"] == cost:
        return
    today = dt.datetime.now(dt.UTC).date()
    if rows and rows[-1]["date"] >= today:
        rpc.write("company.employee_cost_price", [rows[-1]["id"]], {"cost_price": cost})
        return
    date = today if rows else first
    rpc.create(
        "company.employee_cost_price", [{"employee": employee, "date": date, "cost_price": cost}]
    )
