"""Building blocks shared by every canonical contract: base model, money, identifiers."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.config import JsonDict

from interlock.exceptions import ContractViolation, FieldProblem, Team

# Active ISO 4217 codes (2024 list, funds and precious metals left out).
ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)

CONFIDENTIAL: JsonDict = {"x-confidential": True}
"""JSON-schema marker for fields only finance scopes may see (cost rates, margins)."""


def _check_currency(code: str) -> str:
    if code not in ISO_4217:
        raise ValueError(f"must be an ISO 4217 currency code, got {code!r}")
    return code


Currency = Annotated[
    str,
    AfterValidator(_check_currency),
    Field(min_length=3, max_length=3, examples=["USD", "EUR"]),
]
"""An ISO 4217 alphabetic currency code."""

EntityId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
"""A canonical identifier. Canonical ids are stable and never reused."""

_NAMESPACE = uuid.UUID("6f1c8a52-3d0e-4b7e-9a55-1b9f0c1f7d21")


def canonical_id(kind: str, system: str, native_id: str) -> str:
    """Derive the canonical id of a record first seen in ``system`` as ``native_id``.

    Deterministic, so two workers meeting the same record agree on its id without talking.
    """
    return f"{kind}_{uuid.uuid5(_NAMESPACE, f'{system}:{kind}:{native_id}').hex[:20]}"


class Contract(BaseModel):
    """Base of every canonical contract: strict about unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Money(Contract):
    """An amount in one currency. Never a float."""

    amount: Decimal = Field(description="Amount, exact decimal.", max_digits=18, decimal_places=4)
    currency: Currency


class NonNegativeMoney(Money):
    """Money that may not be negative (rates, budgets, prices)."""

    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=4)


def problems_from(exc: ValidationError, prefix: str = "") -> list[FieldProblem]:
    """Turn pydantic's errors into problems that name the field (dotted path) and the rule."""
    problems: list[FieldProblem] = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(p) for p in error["loc"]) or "(root)"
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(FieldProblem(f"{prefix}{path}", message))
    return problems


T = TypeVar("T", bound=BaseModel)


def validate_contract(
    model: type[T], data: Any, *, subject: str, team: Team = Team.INTEGRATION
) -> T:
    """Validate ``data`` against ``model`` or raise `ContractViolation` naming every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ContractViolation(subject, problems_from(exc), team=team) from None
