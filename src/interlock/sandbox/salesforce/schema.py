"""The sObjects the emulated org knows: fields, types, key prefixes and write rules.

Field names are case-insensitive on the wire (as in Salesforce); ``SObject.field`` resolves
any spelling to the declared one. Picklist and currency values are deliberately *not*
validated: a real org with a careless import holds values like ``XYZ``, and the firm's
defective deals must be seedable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TEXT_TYPES = frozenset({"string", "picklist", "textarea", "email"})
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"double", "currency", "percent"})


@dataclass(frozen=True)
class Field:
    """One field of an sObject.

    Attributes:
        name: API name.
        type: Salesforce field type (``string``, ``picklist``, ``reference``, ``date``...).
        required: Must be non-empty after every write (``REQUIRED_FIELD_MISSING``).
        writable: Clients may set it (system and derived fields may not).
        external_id: Usable in upsert URLs (``/sobjects/{T}/{field}/{value}``).
        length: Maximum length of text values.
        references: Target sObject of a reference field.
        cascade: Deleting the referenced record deletes this one (master-detail).
    """

    name: str
    type: str
    required: bool = False
    writable: bool = True
    external_id: bool = False
    length: int | None = None
    references: str | None = None
    cascade: bool = False


@dataclass(frozen=True)
class SObject:
    """An sObject type with its fields."""

    name: str
    key_prefix: str
    fields: tuple[Field, ...]
    _index: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> Field | None:
        """The field called ``name`` in any letter case, or None."""
        return self._index.get(name.lower())


SYSTEM_FIELDS = (
    Field("Id", "id", writable=False),
    Field("IsDeleted", "boolean", writable=False),
    Field("CreatedDate", "datetime", writable=False),
    Field("CreatedById", "reference", writable=False, references="User"),
    Field("LastModifiedDate", "datetime", writable=False),
    Field("LastModifiedById", "reference", writable=False, references="User"),
    Field("SystemModstamp", "datetime", writable=False),
)

ACCOUNT = SObject(
    "Account",
    "001",
    (
        *SYSTEM_FIELDS,
        Field("Name", "string", required=True, length=255),
        Field("Type", "picklist", length=255),
        Field("Industry", "picklist", length=255),
        Field("BillingStreet", "textarea", length=255),
        Field("BillingCity", "string", length=40),
        Field("BillingPostalCode", "string", length=20),
        Field("BillingCountry", "string", length=80),
        Field("CurrencyIsoCode", "picklist", length=3),
        Field("Segment__c", "picklist", length=255),
        Field("Hub_Id__c", "string", external_id=True, length=64),
    ),
)

OPPORTUNITY = SObject(
    "Opportunity",
    "006",
    (
        *SYSTEM_FIELDS,
        Field("Name", "string", required=True, length=120),
        Field("AccountId", "reference", references="Account", cascade=True),
        Field("StageName", "picklist", required=True, length=255),
        Field("IsWon", "boolean", writable=False),
        Field("IsClosed", "boolean", writable=False),
        Field("CloseDate", "date", required=True),
        Field("Amount", "currency"),
        Field("CurrencyIsoCode", "picklist", length=3),
        Field("Probability", "percent"),
        Field("LastStageChangeDate", "datetime", writable=False),
        Field("Practice__c", "picklist", length=255),
        Field("Contract_Start__c", "date"),
        Field("Contract_End__c", "date"),
        Field("Billing_Type__c", "picklist", length=255),
        Field("PO_Number__c", "string", length=80),
        Field("Owner_Email__c", "email", length=80),
        Field("Description", "textarea", length=32000),
    ),
)

SOW_LINE = SObject(
    "SOW_Line__c",
    "a0X",
    (
        *SYSTEM_FIELDS,
        Field("Name", "string", required=True, length=80),
        Field("Opportunity__c", "reference", required=True, references="Opportunity", cascade=True),
        Field("Role__c", "string", length=255),
        Field("Hours__c", "double"),
        Field("Rate__c", "currency"),
        Field("Billing_Type__c", "picklist", length=255),
        Field("Description__c", "textarea", length=32000),
    ),
)

SOBJECTS: dict[str, SObject] = {o.name.lower(): o for o in (ACCOUNT, OPPORTUNITY, SOW_LINE)}


def sobject(name: str) -> SObject | None:
    """The sObject type called ``name`` in any letter case, or None."""
    return SOBJECTS.get(name.lower())


def children(obj: SObject) -> list[tuple[str, str]]:
    """(child type, reference field) of the master-detail children of ``obj``."""
    return [
        (child.name, f.name)
        for child in SOBJECTS.values()
        for f in child.fields
        if f.references == obj.name and f.cascade
    ]


# Stage → (IsClosed, IsWon, DefaultProbability), as in the standard OpportunityStage set.
STAGES: dict[str, tuple[bool, bool, float]] = {
    "Prospecting": (False, False, 10.0),
    "Qualification": (False, False, 10.0),
    "Needs Analysis": (False, False, 20.0),
    "Value Proposition": (False, False, 50.0),
    "Id. Decision Makers": (False, False, 60.0),
    "Perception Analysis": (False, False, 70.0),
    "Proposal/Price Quote": (False, False, 75.0),
    "Negotiation/Review": (False, False, 90.0),
    "Closed Won": (True, True, 100.0),
    "Closed Lost": (True, False, 0.0),
}
