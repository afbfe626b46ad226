"""The minimal set-up invoicing needs, made over JSON-RPC as the Tryton admin.

Currency, company, chart of accounts (the "Universal Chart of Accounts" template),
fiscal years with monthly periods and strict sequences for moves and invoices, a product
category with revenue and expense accounts, a service product sold by the hour, and the
Tryton user Interlock logs in as. Every step looks before it creates, so running it again
on a set-up database changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import SecretStr

from interlock.connectors.tryton.rpc import TrytonRpc

CHART = "Universal Chart of Accounts"
ACCOUNTS = {"receivable": "1.2.1", "payable": "2.1.1", "revenue": "4.1.2", "expense": "5.1.3"}
"""Codes in that chart: trade receivables/payables, service revenue, service costs."""

USER_GROUPS = (
    ("account", "group_account"),
    ("company", "group_employee_admin"),
    ("party", "group_party_admin"),
    ("project", "group_project_admin"),
    ("project_invoice", "group_project_invoice"),
    ("timesheet", "group_timesheet_admin"),
)
"""Groups of the integration user: what it reads and writes, and posting invoices."""


def _this_and_next_year() -> tuple[int, ...]:
    year = dt.datetime.now(dt.UTC).year
    return (year, year + 1)


@dataclass(frozen=True)
class Setup:
    """What ``bootstrap`` creates.

    Attributes:
        user_password: Password of the integration user (8 characters or more).
        company_name: Name of the company (its party).
        currency: ISO code of the company currency.
        user_login: Login of the integration user.
        product_name: Name of the service product sold by the hour.
        years: Fiscal years to open.
    """

    user_password: SecretStr
    company_name: str = "Interlock Consulting"
    currency: str = "USD"
    user_login: str = "interlock"
    product_name: str = "Consulting hour"
    years: tuple[int, ...] = field(default_factory=_this_and_next_year)


def bootstrap(admin: TrytonRpc, setup: Setup) -> None:
    """Set the database up (see the module docstring); ``admin`` is the admin's session."""
    company = _company(admin, setup)
    if admin.context.get("company") != company:
        admin.write(
            "res.user", [_uid(admin)], {"companies": [["add", [company]]], "company": company}
        )
        admin.login()
    _chart(admin, company)
    for year in setup.years:
        _fiscal_year(admin, company, year)
    _product(admin, setup)
    _user(admin, setup, company)


def _uid(rpc: TrytonRpc) -> int:
    assert rpc.user_id is not None
    return rpc.user_id


def _company(rpc: TrytonRpc, setup: Setup) -> int:
    found = rpc.search("company.company", [("party.name", "=", setup.company_name)], limit=1)
    if found:
        return found[0]
    currency = rpc.search("currency.currency", [("code", "=", setup.currency)], limit=1)
    if not currency:
        values = {"name": setup.currency, "code": setup.currency, "symbol": setup.currency}
        currency = rpc.create("currency.currency", [{**values, "rounding": Decimal("0.01")}])
    (party,) = rpc.create("party.party", [{"name": setup.company_name}])
    company = {"party": party, "currency": currency[0], "timezone": "UTC"}
    return rpc.create("company.company", [company])[0]


def _account(rpc: TrytonRpc, company: int, role: str) -> int:
    domain = [("code", "=", ACCOUNTS[role]), ("company", "=", company)]
    return rpc.search("account.account", domain, limit=1)[0]


def _chart(rpc: TrytonRpc, company: int) -> None:
    if rpc.search("account.account", [("company", "=", company)], limit=1):
        return
    template = rpc.search("account.account.template", [("name", "=", CHART), ("parent", "=", None)])
    with rpc.wizard("account.create_chart") as wizard:
        wizard.execute("account")
        chosen = {"company": company, "account_template": template[0]}
        wizard.execute("create_account", {"account": chosen})
        properties = {
            "company": company,
            "account_receivable": _account(rpc, company, "receivable"),
            "account_payable": _account(rpc, company, "payable"),
            "category_account_revenue": _account(rpc, company, "revenue"),
            "category_account_expense": _account(rpc, company, "expense"),
        }
        wizard.execute("create_properties", {"properties": properties})


def _fiscal_year(rpc: TrytonRpc, company: int, year: int) -> None:
    start = dt.date(year, 1, 1)
    if rpc.search("account.fiscalyear", [("company", "=", company), ("start_date", "=", start)]):
        return
    move_type = rpc.model_data_id("account", "sequence_type_account_move")
    invoice_type = rpc.model_data_id("account_invoice", "sequence_type_account_invoice")
    moves, invoices = rpc.create(
        "ir.sequence.strict",
        [
            {"name": f"Moves {year}", "sequence_type": move_type, "company": company},
            {
                "name": f"Invoices {year}",
                "sequence_type": invoice_type,
                "company": company,
                "prefix": f"INV-{year}-",
                "padding": 4,
            },
        ],
    )
    kinds = ("in_invoice", "in_credit_note", "out_invoice", "out_credit_note")
    sequences = {f"{kind}_sequence": invoices for kind in kinds}
    values = {
        "name": str(year),
        "start_date": start,
        "end_date": dt.date(year, 12, 31),
        "company": company,
        "move_sequence": moves,
        "invoice_sequences": [["create", [{"company": company, **sequences}]]],
    }
    (fiscal_year,) = rpc.create("account.fiscalyear", [values])
    rpc.call("model.account.fiscalyear.create_period", [fiscal_year], 1, 31)


def _product(rpc: TrytonRpc, setup: Setup) -> None:
    if rpc.search("product.template", [("name", "=", setup.product_name)], limit=1):
        return
    company = int(rpc.context["company"])
    category = {
        "name": "Professional services",
        "accounting": True,
        "account_revenue": _account(rpc, company, "revenue"),
        "account_expense": _account(rpc, company, "expense"),
    }
    (category_id,) = rpc.create("product.category", [category])
    template = {
        "name": setup.product_name,
        "type": "service",
        "default_uom": rpc.model_data_id("product", "uom_hour"),
        "list_price": Decimal(0),
        "account_category": category_id,
        "products": [["create", [{}]]],
    }
    rpc.create("product.template", [template])


def _user(rpc: TrytonRpc, setup: Setup, company: int) -> None:
    groups = [rpc.model_data_id(module, xml_id) for module, xml_id in USER_GROUPS]
    values = {
        "password": setup.user_password.get_secret_value(),
        "companies": [["add", [company]]],
        "company": company,
        "groups": [["add", groups]],
    }
    found = rpc.search("res.user", [("login", "=", setup.user_login)], limit=1)
    if found:
        rpc.write("res.user", found, values)
    else:
        rpc.create("res.user", [{"name": "Interlock", "login": setup.user_login, **values}])
