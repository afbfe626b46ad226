"""The company Interlock works in, and the records every write needs from it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from interlock.connectors.tryton.config import TrytonConfig
from interlock.connectors.tryton.rpc import TrytonRpc
from interlock.exceptions import RecordRejected


@dataclass(frozen=True)
class Company:
    """What the connector reads once per session.

    Attributes:
        id: The ``company.company`` id.
        currency: ISO code of the company currency (task rates must be in it).
        work_day_hours: Hours of the company's working day (allocation percentages).
        service_product: ``product.product`` put on tasks: a service measured in hours.
        open_status: ``project.work.status`` of open works.
        done_status: ``project.work.status`` of finished works.
    """

    id: int
    currency: str
    work_day_hours: Decimal
    service_product: int
    open_status: int
    done_status: int


def load_company(rpc: TrytonRpc, config: TrytonConfig) -> Company:
    """Find the company, its currency, working day, service product and statuses."""
    if rpc.user_id is None:
        rpc.login()
    company_id = _company_id(rpc, config)
    rpc.set_company(company_id)
    (row,) = rpc.read("company.company", [company_id], ["currency.code"])
    work_time = rpc.context.get("company_work_time") or {}
    day = Decimal(str(work_time.get("d", 8 * 3600))) / Decimal(3600)
    return Company(
        id=company_id,
        currency=str(row["currency."]["code"]),
        work_day_hours=day,
        service_product=_service_product(rpc, config),
        open_status=rpc.model_data_id("project", "work_open_status"),
        done_status=rpc.model_data_id("project", "work_done_status"),
    )


def _company_id(rpc: TrytonRpc, config: TrytonConfig) -> int:
    companies = [int(c) for c in rpc.context.get("companies") or []]
    if config.company_name is not None:
        found = rpc.search(
            "company.company", [("party.name", "=", config.company_name), ("id", "in", companies)]
        )
        if not found:
            raise RecordRejected(
                rpc.system,
                f"user {rpc.username!r} has no company named {config.company_name!r}",
                fields=("company_name",),
            )
        return found[0]
    current = rpc.context.get("company")
    if not current:
        raise RecordRejected(
            rpc.system,
            f"user {rpc.username!r} has no current company: set one in Tryton",
            fields=("company_name",),
        )
    return int(current)


def _service_product(rpc: TrytonRpc, config: TrytonConfig) -> int:
    hour = rpc.model_data_id("product", "uom_hour")
    domain: list[object] = [("template.type", "=", "service"), ("template.default_uom", "=", hour)]
    if config.service_product is not None:
        domain.append(("template.name", "=", config.service_product))
    found = rpc.search("product.product", domain, order=[("id", "ASC")], limit=1)
    if not found:
        named = f" named {config.service_product!r}" if config.service_product else ""
        raise RecordRejected(
            rpc.system,
            f"no service product{named} measured in hours: create one in Tryton "
            "(or run `interlock tryton init`)",
            fields=("service_product",),
        )
    return found[0]
