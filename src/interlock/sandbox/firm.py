"""A deterministic generator of a realistic professional-services firm.

The same seed always gives the same firm, so demos and tests are repeatable. The specs here
are plain data, deliberately *not* canonical models: some deals carry broken contract metadata
(``DealSpec.defect`` says what), which the canonical contracts would refuse to hold. Each
sandbox seeds itself from a ``Firm`` in its own wire format.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

ROLES: dict[str, tuple[Decimal, Decimal]] = {
    # role: (cost rate per hour, list bill rate per hour), in the firm's currency
    "Partner": (Decimal("180"), Decimal("420")),
    "Principal": (Decimal("140"), Decimal("330")),
    "Architect": (Decimal("115"), Decimal("260")),
    "Project Manager": (Decimal("95"), Decimal("210")),
    "Senior Consultant": (Decimal("85"), Decimal("190")),
    "Consultant": (Decimal("65"), Decimal("150")),
    "Data Engineer": (Decimal("75"), Decimal("170")),
    "Analyst": (Decimal("45"), Decimal("110")),
}
SKILLS = (
    "salesforce",
    "netsuite",
    "python",
    "sql",
    "change management",
    "data modelling",
    "cloud migration",
    "security",
    "finance transformation",
    "agile delivery",
)
PRACTICES = (
    ("Data & Analytics", "EMEA"),
    ("Cloud Transformation", "NA"),
    ("Finance Advisory", "EMEA"),
    ("Digital Strategy", "APAC"),
)
REGIONS = ("EMEA", "NA", "APAC")
SEGMENTS = ("enterprise", "mid_market", "small_business", "public_sector")
CITIES = (
    ("London", "GB", "EC1A 1BB"),
    ("Paris", "FR", "75002"),
    ("Berlin", "DE", "10115"),
    ("New York", "US", "10001"),
    ("Toronto", "CA", "M5H 2N2"),
    ("Singapore", "SG", "018989"),
    ("Amsterdam", "NL", "1012 AB"),
)
FIRST = (
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noor",
    "Oscar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tess",
)
LAST = (
    "Adams",
    "Bauer",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Khan",
    "Laurent",
    "Meyer",
    "Novak",
    "Okafor",
    "Petrov",
    "Rossi",
    "Silva",
)
COMPANY_A = (
    "Northwind",
    "Bluefield",
    "Granite",
    "Harbor",
    "Summit",
    "Ironbridge",
    "Cedar",
    "Lumen",
    "Aster",
    "Meridian",
    "Vantage",
    "Orchard",
    "Keystone",
    "Pioneer",
)
COMPANY_B = (
    "Logistics",
    "Health",
    "Bank",
    "Energy",
    "Retail",
    "Foods",
    "Insurance",
    "Manufacturing",
    "Telecom",
    "Media",
    "Pharma",
    "Holdings",
)
OFFERINGS = (
    "ERP Rollout",
    "Data Platform",
    "CRM Implementation",
    "Cloud Migration",
    "Finance Transformation",
    "Security Review",
    "Analytics Accelerator",
)

DEFECTS = (
    "missing contract end date",
    "unknown currency",
    "no SOW lines",
    "end date before start date",
    "SOW line with zero hours",
    "missing billing type",
    "no customer account",
)


@dataclass(frozen=True)
class PracticeSpec:
    """A practice (line of service)."""

    id: str
    name: str
    region: str


@dataclass(frozen=True)
class ConsultantSpec:
    """A consultant with role, skills and cost rate."""

    id: str
    name: str
    email: str
    role: str
    skills: tuple[str, ...]
    region: str
    practice_id: str
    cost_rate: Decimal
    currency: str


@dataclass(frozen=True)
class CustomerSpec:
    """A customer account."""

    id: str
    name: str
    segment: str
    street: str
    city: str
    postal_code: str
    country: str
    currency: str


@dataclass(frozen=True)
class RateCardSpec:
    """Bill rates by role."""

    id: str
    name: str
    currency: str
    rates: dict[str, Decimal]


@dataclass(frozen=True)
class SowLineSpec:
    """One SOW line: role × hours × rate."""

    role: str
    hours: Decimal
    rate: Decimal
    billing_type: str
    description: str


@dataclass(frozen=True)
class DealSpec:
    """An opportunity with its contract metadata; ``defect`` names what is broken, if any."""

    key: str
    name: str
    customer_id: str | None
    currency: str
    amount: Decimal
    close_date: dt.date
    start_date: dt.date | None
    end_date: dt.date | None
    billing_type: str | None
    practice: str
    po_number: str | None
    owner_email: str
    lines: tuple[SowLineSpec, ...]
    defect: str | None = None


@dataclass(frozen=True)
class Firm:
    """Everything the sandboxes are seeded with."""

    name: str
    currency: str
    practices: tuple[PracticeSpec, ...]
    consultants: tuple[ConsultantSpec, ...]
    customers: tuple[CustomerSpec, ...]
    rate_cards: tuple[RateCardSpec, ...]
    deals: tuple[DealSpec, ...]
    today: dt.date = field(default=dt.date(2026, 11, 26))

    def customer(self, customer_id: str) -> CustomerSpec:
        """The customer with this id."""
        return next(c for c in self.customers if c.id == customer_id)


def generate_firm(
    seed: int = 7,
    *,
    deals: int = 40,
    consultants: int = 60,
    customers: int = 25,
    bad_share: float = 0.15,
    today: dt.date = dt.date(2026, 11, 26),
) -> Firm:
    """Generate a firm. ``bad_share`` of the deals carry one contract-metadata defect each."""
    rng = random.Random(seed)
    currency = "USD"
    practices = tuple(
        PracticeSpec(id=f"PR-{i + 1:02d}", name=name, region=region)
        for i, (name, region) in enumerate(PRACTICES)
    )
    people = _consultants(rng, consultants, practices, currency)
    accounts = _customers(rng, customers)
    cards = (
        RateCardSpec(
            id="RC-STD",
            name="Standard 2026",
            currency=currency,
            rates={role: bill for role, (_, bill) in ROLES.items()},
        ),
    )
    bad = set(rng.sample(range(deals), k=round(deals * bad_share)))
    specs = tuple(
        _deal(
            rng,
            i,
            accounts,
            practices,
            cards[0],
            today,
            defect=DEFECTS[sorted(bad).index(i) % len(DEFECTS)] if i in bad else None,
        )
        for i in range(deals)
    )
    return Firm(
        name="Halcyon Partners",
        currency=currency,
        practices=practices,
        consultants=people,
        customers=accounts,
        rate_cards=cards,
        deals=specs,
        today=today,
    )


def _consultants(
    rng: random.Random, count: int, practices: tuple[PracticeSpec, ...], currency: str
) -> tuple[ConsultantSpec, ...]:
    people = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        role = rng.choice(list(ROLES))
        practice = rng.choice(practices)
        people.append(
            ConsultantSpec(
                id=f"EMP-{i + 1:04d}",
                name=f"{first} {last}",
                email=f"{first.lower()}.{last.lower()}.{i + 1}@halcyon.example",
                role=role,
                skills=tuple(sorted(rng.sample(SKILLS, k=rng.randint(2, 4)))),
                region=practice.region,
                practice_id=practice.id,
                cost_rate=ROLES[role][0] + Decimal(rng.randint(-10, 10)),
                currency=currency,
            )
        )
    return tuple(people)


def _customers(rng: random.Random, count: int) -> tuple[CustomerSpec, ...]:
    names: set[str] = set()
    result: list[CustomerSpec] = []
    while len(result) < count:
        name = f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)}"
        if name in names:
            continue
        names.add(name)
        city, country, postal = rng.choice(CITIES)
        result.append(
            CustomerSpec(
                id=f"CUST-{len(result) + 1:04d}",
                name=name,
                segment=rng.choice(SEGMENTS),
                street=f"{rng.randint(1, 250)} {rng.choice(LAST)} Street",
                city=city,
                postal_code=postal,
                country=country,
                currency={"GB": "GBP", "US": "USD", "CA": "CAD", "SG": "SGD"}.get(country, "EUR"),
            )
        )
    return tuple(result)


def _deal(
    rng: random.Random,
    index: int,
    accounts: tuple[CustomerSpec, ...],
    practices: tuple[PracticeSpec, ...],
    card: RateCardSpec,
    today: dt.date,
    *,
    defect: str | None,
) -> DealSpec:
    account = rng.choice(accounts)
    billing = rng.choices(["time_and_materials", "fixed_fee", "milestone"], [6, 2, 2])[0]
    start = today + dt.timedelta(days=rng.randint(7, 45))
    end = start + dt.timedelta(weeks=rng.randint(6, 30))
    lines = []
    for role in rng.sample(list(ROLES), k=rng.randint(2, 4)):
        hours = Decimal(rng.randrange(40, 800, 8))
        lines.append(
            SowLineSpec(
                role=role,
                hours=hours,
                rate=card.rates[role],
                billing_type=billing,
                description=f"{role} effort",
            )
        )
    offering = rng.choice(OFFERINGS)
    spec = DealSpec(
        key=f"D{index + 1:04d}",
        name=f"{account.name} - {offering}",
        customer_id=account.id,
        currency=card.currency,
        amount=sum((ln.hours * ln.rate for ln in lines), Decimal(0)),
        close_date=today,
        start_date=start,
        end_date=end,
        billing_type=billing,
        practice=rng.choice(practices).name,
        po_number=f"PO-{rng.randint(100000, 999999)}" if rng.random() < 0.7 else None,
        owner_email=f"{rng.choice(FIRST).lower()}@halcyon.example",
        lines=tuple(lines),
        defect=defect,
    )
    return _break(spec, defect)


def _break(spec: DealSpec, defect: str | None) -> DealSpec:
    from dataclasses import replace

    if defect is None:
        return spec
    if defect == "missing contract end date":
        return replace(spec, end_date=None)
    if defect == "unknown currency":
        return replace(spec, currency="XYZ")
    if defect == "no SOW lines":
        return replace(spec, lines=())
    if defect == "end date before start date":
        assert spec.start_date is not None
        return replace(spec, end_date=spec.start_date - dt.timedelta(days=10))
    if defect == "SOW line with zero hours":
        first = replace(spec.lines[0], hours=Decimal(0))
        return replace(spec, lines=(first, *spec.lines[1:]))
    if defect == "missing billing type":
        return replace(spec, billing_type=None)
    if defect == "no customer account":
        return replace(spec, customer_id=None)
    raise ValueError(f"unknown defect {defect!r}")
