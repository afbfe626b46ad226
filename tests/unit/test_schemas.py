from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from interlock.exceptions import ConfigError
from interlock.model import CONTRACT_VERSION, CONTRACTS
from interlock.schemas import (
    JSON_SCHEMA_DIALECT,
    Change,
    ChangeKind,
    check_compatibility,
    compare_schemas,
    export_schemas,
)

Schema = dict[str, Any]

# --- helpers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real contracts, exported once; tests copy it before editing."""
    directory = tmp_path_factory.mktemp("published")
    export_schemas(directory)
    return directory


def edited(published: Path, target: Path, contract: str, edit: Callable[[Schema], None]) -> Path:
    shutil.copytree(published, target)
    file = target / f"{contract}.v{CONTRACT_VERSION}.schema.json"
    schema = json.loads(file.read_text())
    edit(schema)
    file.write_text(json.dumps(schema))
    return target


def export(directory: Path, version: int = 1, **models: type[BaseModel]) -> Path:
    export_schemas(directory, contracts=models, version=version)
    return directory


def only_change(changes: list[Change]) -> Change:
    assert len(changes) == 1, [str(c) for c in changes]
    return changes[0]


def find(changes: list[Change], path: str, kind: ChangeKind) -> Change:
    found = [c for c in changes if c.path == path and c.kind is kind]
    assert len(found) == 1, [str(c) for c in changes]
    return found[0]


# --- export -------------------------------------------------------------------------------


def test_export_writes_every_contract_and_an_index(tmp_path: Path) -> None:
    written = export_schemas(tmp_path)

    expected = {f"{name}.v{CONTRACT_VERSION}.schema.json" for name in CONTRACTS}
    assert {p.name for p in written} == expected | {"index.json"}
    assert {p.name for p in tmp_path.iterdir()} == expected | {"index.json"}
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["contracts"] == [
        {"file": f"{name}.v{CONTRACT_VERSION}.schema.json", "name": name, "version": 1}
        for name in sorted(CONTRACTS)
    ]
    project = json.loads((tmp_path / "project.v1.schema.json").read_text())
    assert project["$id"] == "urn:interlock:contract:project:v1"
    assert (
        project["$schema"] == JSON_SCHEMA_DIALECT == "https://json-schema.org/draft/2020-12/schema"
    )
    assert project["title"] == "Project"
    assert project["properties"]["tasks"]["items"] == {"$ref": "#/$defs/Task"}


def test_export_keeps_the_confidential_marker(tmp_path: Path) -> None:
    export_schemas(tmp_path)

    consultant = json.loads((tmp_path / "consultant.v1.schema.json").read_text())
    assert consultant["properties"]["cost_rate"]["x-confidential"] is True
    assert "x-confidential" not in consultant["properties"]["name"]


def test_export_is_byte_identical_and_diffable(tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in export_schemas(tmp_path / "a")}
    again = {p.name: p.read_bytes() for p in export_schemas(tmp_path / "a")}
    elsewhere = {p.name: p.read_bytes() for p in export_schemas(tmp_path / "b")}

    assert first == again == elsewhere
    for text in (raw.decode() for raw in first.values()):
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_export_refuses_a_name_unfit_for_a_file(tmp_path: Path) -> None:
    class Thing(BaseModel):
        id: str

    with pytest.raises(ValueError, match="Bad Name"):
        export_schemas(tmp_path, contracts={"Bad Name": Thing})


# --- comparing whole exports --------------------------------------------------------------


def test_an_export_compared_with_itself_has_no_changes(published: Path) -> None:
    assert compare_schemas(published, published) == []
    assert check_compatibility(published, published) == (True, [])


def test_a_directory_without_index_is_read_by_file_name(published: Path, tmp_path: Path) -> None:
    shutil.copytree(published, tmp_path / "new")
    (tmp_path / "new" / "index.json").unlink()

    assert compare_schemas(published, tmp_path / "new") == []


def test_removing_a_contract_is_breaking(published: Path, tmp_path: Path) -> None:
    new = shutil.copytree(published, tmp_path / "new")
    (new / "customer.v1.schema.json").unlink()
    index = json.loads((new / "index.json").read_text())
    index["contracts"] = [e for e in index["contracts"] if e["name"] != "customer"]
    (new / "index.json").write_text(json.dumps(index))

    ok, changes = check_compatibility(published, new)

    assert not ok
    change = only_change(changes)
    assert (change.contract, change.path, change.kind) == (
        "customer",
        "",
        ChangeKind.CONTRACT_REMOVED,
    )
    assert change.breaking
    assert not change.allowed
    assert str(change) == "customer: contract removed (breaking)"


def test_a_new_contract_is_info(published: Path, tmp_path: Path) -> None:
    class Region(BaseModel):
        code: str

    new = shutil.copytree(published, tmp_path / "new")
    export_schemas(tmp_path / "extra", contracts={"region": Region})
    shutil.copy(tmp_path / "extra" / "region.v1.schema.json", new)
    (new / "index.json").unlink()

    ok, changes = check_compatibility(published, new)

    assert ok
    change = only_change(changes)
    assert (change.contract, change.kind, change.breaking) == (
        "region",
        ChangeKind.CONTRACT_ADDED,
        False,
    )


# --- rules, by editing the exported JSON --------------------------------------------------


def _drop_task_rate(s: Schema) -> None:
    del s["$defs"]["Task"]["properties"]["rate"]


def _name_to_integer(s: Schema) -> None:
    s["properties"]["name"]["type"] = "integer"


def _po_number_required(s: Schema) -> None:
    s["required"].append("po_number")


def _drop_on_hold(s: Schema) -> None:
    s["$defs"]["ProjectStatus"]["enum"].remove("on_hold")


def _add_cancelled(s: Schema) -> None:
    s["$defs"]["ProjectStatus"]["enum"].append("cancelled")


def _drop_nullable_from_po_number(s: Schema) -> None:
    s["properties"]["po_number"] = {"type": "string", "title": "Po Number", "default": None}


def _lower_max_length(s: Schema) -> None:
    s["properties"]["name"]["maxLength"] = 100


def _raise_max_length(s: Schema) -> None:
    s["properties"]["name"]["maxLength"] = 500


def _raise_min_length(s: Schema) -> None:
    s["properties"]["name"]["minLength"] = 2


def _tighten_hours_max(s: Schema) -> None:
    s["properties"]["hours"]["anyOf"][0]["maximum"] = 12


def _loosen_hours_min(s: Schema) -> None:
    number = s["properties"]["hours"]["anyOf"][0]
    del number["exclusiveMinimum"]
    number["minimum"] = 0


def _change_email_pattern(s: Schema) -> None:
    s["properties"]["email"]["pattern"] = "^.+@example\\.com$"


def _drop_email_pattern(s: Schema) -> None:
    del s["properties"]["email"]["pattern"]


def _change_date_format(s: Schema) -> None:
    s["properties"]["issue_date"]["format"] = "date-time"


def _allow_extra_in_money(s: Schema) -> None:
    s["$defs"]["Money"]["additionalProperties"] = True  # old side is `false` already


def _make_region_confidential(s: Schema) -> None:
    s["properties"]["region"]["x-confidential"] = True


def _reword_description(s: Schema) -> None:
    s["$defs"]["Task"]["description"] = "A unit of work."


def _reword_union_member_description(s: Schema) -> None:
    s["$defs"]["FinancialDimensions"]["description"] = "Booking dimensions."


def _change_default_status(s: Schema) -> None:
    s["properties"]["status"]["default"] = "active"


def _require_more_lines(s: Schema) -> None:
    s["properties"]["lines"]["minItems"] = 2


def _new_optional_field(s: Schema) -> None:
    s["properties"]["vat_number"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}


def _new_required_field(s: Schema) -> None:
    s["properties"]["vat_number"] = {"type": "string"}
    s["required"].append("vat_number")


EDITS = [
    ("project", _drop_task_rate, "tasks[].rate", ChangeKind.FIELD_REMOVED, True),
    ("project", _name_to_integer, "name", ChangeKind.TYPE_CHANGED, True),
    ("project", _po_number_required, "po_number", ChangeKind.REQUIRED_ADDED, True),
    ("project", _drop_on_hold, "status", ChangeKind.ENUM_VALUES_REMOVED, True),
    ("project", _add_cancelled, "status", ChangeKind.ENUM_VALUES_ADDED, False),
    ("project", _drop_nullable_from_po_number, "po_number", ChangeKind.TYPE_CHANGED, True),
    ("customer", _lower_max_length, "name", ChangeKind.CONSTRAINT_TIGHTENED, True),
    ("customer", _raise_max_length, "name", ChangeKind.CONSTRAINT_LOOSENED, False),
    ("project", _raise_min_length, "name", ChangeKind.CONSTRAINT_TIGHTENED, True),
    ("time_entry", _tighten_hours_max, "hours", ChangeKind.CONSTRAINT_TIGHTENED, True),
    ("time_entry", _loosen_hours_min, "hours", ChangeKind.CONSTRAINT_LOOSENED, False),
    ("consultant", _change_email_pattern, "email", ChangeKind.PATTERN_CHANGED, True),
    ("consultant", _drop_email_pattern, "email", ChangeKind.PATTERN_CHANGED, False),
    ("invoice", _change_date_format, "issue_date", ChangeKind.FORMAT_CHANGED, True),
    ("invoice", _require_more_lines, "lines", ChangeKind.CONSTRAINT_TIGHTENED, True),
    ("consultant", _make_region_confidential, "region", ChangeKind.CONFIDENTIAL_ADDED, True),
    ("project", _reword_description, "tasks[]", ChangeKind.DESCRIPTION_CHANGED, False),
    (
        "invoice",
        _reword_union_member_description,
        "dimensions",
        ChangeKind.DESCRIPTION_CHANGED,
        False,
    ),
    ("project", _change_default_status, "status", ChangeKind.DEFAULT_CHANGED, False),
    ("customer", _new_optional_field, "vat_number", ChangeKind.FIELD_ADDED, False),
    ("customer", _new_required_field, "vat_number", ChangeKind.FIELD_ADDED, True),
]


@pytest.mark.parametrize(
    ("contract", "edit", "path", "kind", "breaking"),
    EDITS,
    ids=[edit.__name__.strip("_") for _, edit, *_ in EDITS],
)
def test_each_rule_on_the_real_contracts(
    published: Path,
    tmp_path: Path,
    contract: str,
    edit: Callable[[Schema], None],
    path: str,
    kind: ChangeKind,
    breaking: bool,
) -> None:
    new = edited(published, tmp_path / "new", contract, edit)

    ok, changes = check_compatibility(published, new)

    change = only_change(changes)
    assert (change.contract, change.path, change.kind, change.breaking) == (
        contract,
        path,
        kind,
        breaking,
    )
    assert ok is not breaking
    assert str(change).endswith("(breaking)" if breaking else "(info)")


def test_messages_name_the_field_and_what_happened(published: Path, tmp_path: Path) -> None:
    new = edited(published, tmp_path / "new", "project", _drop_task_rate)

    assert [str(c) for c in compare_schemas(published, new)] == [
        "project: field 'tasks[].rate' removed (breaking)"
    ]


def test_a_shared_definition_is_reported_at_every_use(published: Path, tmp_path: Path) -> None:
    def shorten_currency(s: Schema) -> None:
        s["$defs"]["Money"]["properties"]["currency"]["maxLength"] = 2

    new = edited(published, tmp_path / "new", "invoice", shorten_currency)

    changes = compare_schemas(published, new)

    # Exported keys are sorted, so fields come in name order.
    assert [(c.path, c.breaking) for c in changes] == [
        ("lines[].amount.currency", True),
        ("lines[].unit_price.currency", True),
    ]
    assert changes[0].detail == "maxLength lowered from 3 to 2"


def test_allowing_extra_properties_is_info_and_forbidding_them_is_breaking(
    published: Path, tmp_path: Path
) -> None:
    loose = edited(published, tmp_path / "loose", "invoice", _allow_extra_in_money)

    relaxed = compare_schemas(published, loose)
    tightened = compare_schemas(loose, published)

    assert [(c.path, c.kind, c.breaking) for c in relaxed] == [
        ("lines[].amount", ChangeKind.ADDITIONAL_PROPERTIES_ALLOWED, False),
        ("lines[].unit_price", ChangeKind.ADDITIONAL_PROPERTIES_ALLOWED, False),
    ]
    assert [(c.path, c.kind, c.breaking) for c in tightened] == [
        ("lines[].amount", ChangeKind.ADDITIONAL_PROPERTIES_FORBIDDEN, True),
        ("lines[].unit_price", ChangeKind.ADDITIONAL_PROPERTIES_FORBIDDEN, True),
    ]


# --- rules, by exporting ad-hoc models ----------------------------------------------------


class Money(BaseModel):
    amount: Decimal
    currency: str = Field(min_length=3, max_length=3)


class Line(BaseModel):
    sku: str
    rate: Money | None = None


class Order(BaseModel):
    id: str
    lines: list[Line]


class Line2(BaseModel):
    sku: str
    rate: Money2 | None = None


class Money2(BaseModel):
    amount: Decimal


class Order2(BaseModel):
    id: str
    lines: list[Line2]


Line2.model_rebuild()


def test_nested_ref_paths_through_arrays_and_nullable_unions(tmp_path: Path) -> None:
    old = export(tmp_path / "old", order=Order)
    new = export(tmp_path / "new", order=Order2)

    change = only_change(compare_schemas(old, new))

    assert (change.contract, change.path, change.kind, change.breaking) == (
        "order",
        "lines[].rate.currency",
        ChangeKind.FIELD_REMOVED,
        True,
    )
    assert str(change) == "order: field 'lines[].rate.currency' removed (breaking)"


class Reading(BaseModel):
    value: int
    label: str


class WiderReading(BaseModel):
    value: float
    label: str | None


class ReadingWithUnit(BaseModel):
    value: int
    label: str
    unit: str = "kg"


class ReadingNeedsUnit(BaseModel):
    value: int
    label: str
    unit: str


def test_widening_types_is_info_and_narrowing_them_is_breaking(tmp_path: Path) -> None:
    narrow = export(tmp_path / "narrow", reading=Reading)
    wide = export(tmp_path / "wide", reading=WiderReading)

    widened = compare_schemas(narrow, wide)
    narrowed = compare_schemas(wide, narrow)

    assert [(c.path, c.kind, c.breaking, c.detail) for c in widened] == [
        ("label", ChangeKind.TYPE_WIDENED, False, "type widened from string to null|string"),
        ("value", ChangeKind.TYPE_WIDENED, False, "type widened from integer to number"),
    ]
    assert [(c.path, c.kind, c.breaking, c.detail) for c in narrowed] == [
        ("label", ChangeKind.TYPE_CHANGED, True, "type narrowed from null|string to string"),
        ("value", ChangeKind.TYPE_CHANGED, True, "type narrowed from number to integer"),
    ]
    assert check_compatibility(narrow, wide)[0]
    assert not check_compatibility(wide, narrow)[0]


def test_new_optional_field_is_info_and_new_required_field_is_breaking(tmp_path: Path) -> None:
    base = export(tmp_path / "base", reading=Reading)
    optional = export(tmp_path / "optional", reading=ReadingWithUnit)
    required = export(tmp_path / "required", reading=ReadingNeedsUnit)

    added = only_change(compare_schemas(base, optional))
    demanded = only_change(compare_schemas(base, required))
    became_required = compare_schemas(optional, required)

    assert (added.path, added.kind, added.breaking) == ("unit", ChangeKind.FIELD_ADDED, False)
    assert (demanded.path, demanded.kind, demanded.breaking) == (
        "unit",
        ChangeKind.FIELD_ADDED,
        True,
    )
    assert str(demanded) == "reading: field 'unit' added as required (breaking)"
    required_change = find(became_required, "unit", ChangeKind.REQUIRED_ADDED)
    assert required_change.breaking
    assert (
        find(compare_schemas(required, optional), "unit", ChangeKind.REQUIRED_REMOVED).breaking
        is False
    )


class Bounded(BaseModel):
    size: int = Field(ge=0, le=10)


class Exclusive(BaseModel):
    size: int = Field(gt=0, le=10)


class Unbounded(BaseModel):
    size: int


def test_number_bounds_respect_exclusive_limits(tmp_path: Path) -> None:
    ge = export(tmp_path / "ge", sizes=Bounded)
    gt = export(tmp_path / "gt", sizes=Exclusive)
    free = export(tmp_path / "free", sizes=Unbounded)

    tighter = only_change(compare_schemas(ge, gt))
    looser = only_change(compare_schemas(gt, ge))
    bounded = compare_schemas(free, ge)

    assert (tighter.kind, tighter.breaking) == (ChangeKind.CONSTRAINT_TIGHTENED, True)
    assert tighter.detail == "lower bound tightened from >= 0 to > 0"
    assert (looser.kind, looser.breaking) == (ChangeKind.CONSTRAINT_LOOSENED, False)
    assert [(c.path, c.breaking) for c in bounded] == [("size", True), ("size", True)]
    assert all(not c.breaking for c in compare_schemas(ge, free))


class Even(BaseModel):
    size: int = Field(multiple_of=2)


class FourFold(BaseModel):
    size: int = Field(multiple_of=4)


def test_a_coarser_step_is_breaking_and_a_finer_one_is_not(tmp_path: Path) -> None:
    even = export(tmp_path / "even", sizes=Even)
    four = export(tmp_path / "four", sizes=FourFold)

    coarser = only_change(compare_schemas(even, four))
    finer = only_change(compare_schemas(four, even))

    assert (coarser.kind, coarser.breaking) == (ChangeKind.CONSTRAINT_TIGHTENED, True)
    assert (finer.kind, finer.breaking) == (ChangeKind.CONSTRAINT_LOOSENED, False)


class Listed(BaseModel):
    tags: list[str]


class Distinct(BaseModel):
    tags: set[str]


def test_requiring_unique_items_is_breaking(tmp_path: Path) -> None:
    listed = export(tmp_path / "listed", tags=Listed)
    distinct = export(tmp_path / "distinct", tags=Distinct)

    change = only_change(compare_schemas(listed, distinct))

    assert (change.path, change.kind, change.breaking) == (
        "tags",
        ChangeKind.CONSTRAINT_TIGHTENED,
        True,
    )
    relaxed = only_change(compare_schemas(distinct, listed))
    assert (relaxed.kind, relaxed.breaking) == (ChangeKind.CONSTRAINT_LOOSENED, False)


class Status(StrEnum):
    OPEN = "open"
    SHUT = "shut"


class Ticket(BaseModel):
    state: str


class TicketWithEnum(BaseModel):
    state: Status


class TicketWithLiteral(BaseModel):
    state: Literal["open"]


def test_enums_added_and_values_removed(tmp_path: Path) -> None:
    free = export(tmp_path / "free", ticket=Ticket)
    enum = export(tmp_path / "enum", ticket=TicketWithEnum)
    literal = export(tmp_path / "literal", ticket=TicketWithLiteral)

    restricted = find(compare_schemas(free, enum), "state", ChangeKind.CONSTRAINT_TIGHTENED)
    removed = only_change(compare_schemas(enum, literal))
    added = only_change(compare_schemas(literal, enum))

    assert restricted.breaking
    assert (removed.kind, removed.breaking) == (ChangeKind.ENUM_VALUES_REMOVED, True)
    assert removed.detail == 'enum values removed: "shut"'
    assert (added.kind, added.breaking) == (ChangeKind.ENUM_VALUES_ADDED, False)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str


def test_forbidding_additional_properties_is_breaking(tmp_path: Path) -> None:
    open_ = export(tmp_path / "open", thing=Open)
    closed = export(tmp_path / "closed", thing=Closed)

    forbidden = only_change(compare_schemas(open_, closed))
    allowed = only_change(compare_schemas(closed, open_))

    assert (forbidden.path, forbidden.kind, forbidden.breaking) == (
        "",
        ChangeKind.ADDITIONAL_PROPERTIES_FORBIDDEN,
        True,
    )
    assert str(forbidden) == "thing: contract now forbids additional properties (breaking)"
    assert (allowed.kind, allowed.breaking) == (ChangeKind.ADDITIONAL_PROPERTIES_ALLOWED, False)


class Cat(BaseModel):
    name: str
    meows: bool


class Dog(BaseModel):
    name: str
    barks: bool


class QuietDog(BaseModel):
    model_config = ConfigDict(title="Dog")

    name: str


class Pet(BaseModel):
    animal: Cat | Dog


class PetWithQuietDog(BaseModel):
    animal: Cat | QuietDog


class CatOnly(BaseModel):
    animal: Cat


def test_models_in_one_union_are_matched_by_title(tmp_path: Path) -> None:
    pets = export(tmp_path / "pets", pet=Pet)
    quiet = export(tmp_path / "quiet", pet=PetWithQuietDog)
    cats = export(tmp_path / "cats", pet=CatOnly)

    changed = only_change(compare_schemas(pets, quiet))
    narrowed = only_change(compare_schemas(pets, cats))
    widened = only_change(compare_schemas(cats, pets))

    assert (changed.path, changed.kind, changed.breaking) == (
        "animal.barks",
        ChangeKind.FIELD_REMOVED,
        True,
    )
    assert (narrowed.path, narrowed.kind, narrowed.breaking) == (
        "animal",
        ChangeKind.TYPE_CHANGED,
        True,
    )
    assert narrowed.detail == "type narrowed from Cat|Dog to Cat"
    assert (widened.kind, widened.breaking) == (ChangeKind.TYPE_WIDENED, False)


class Tags(BaseModel):
    tags: dict[str, int]


class LooseTags(BaseModel):
    tags: dict[str, str]


def test_map_values_are_compared(tmp_path: Path) -> None:
    old = export(tmp_path / "old", tags=Tags)
    new = export(tmp_path / "new", tags=LooseTags)

    change = only_change(compare_schemas(old, new))

    assert (change.path, change.kind, change.breaking) == ("tags.*", ChangeKind.TYPE_CHANGED, True)


class Node(BaseModel):
    name: str
    children: list[Node] = []


class ShortNode(BaseModel):
    name: str = Field(max_length=10)
    children: list[ShortNode] = []


def test_recursive_models_terminate(tmp_path: Path) -> None:
    old = export(tmp_path / "old", node=Node)
    new = export(tmp_path / "new", node=ShortNode)

    assert compare_schemas(old, old) == []
    change = only_change(compare_schemas(old, new))
    assert (change.path, change.kind) == ("name", ChangeKind.CONSTRAINT_TIGHTENED)


# --- versions -----------------------------------------------------------------------------


def test_a_version_bump_allows_breaking_changes(tmp_path: Path) -> None:
    v1 = export(tmp_path / "v1", version=1, order=Order)
    same_version = export(tmp_path / "same", version=1, order=Order2)
    v2 = export(tmp_path / "v2", version=2, order=Order2)

    blocked_ok, blocked = check_compatibility(v1, same_version)
    bumped_ok, bumped = check_compatibility(v1, v2)

    assert not blocked_ok
    assert only_change(blocked).allowed is False
    assert bumped_ok
    change = only_change(bumped)
    assert (change.path, change.breaking, change.allowed) == ("lines[].rate.currency", True, True)
    assert str(change) == (
        "order: field 'lines[].rate.currency' removed (breaking, allowed by version bump)"
    )


def test_a_version_bump_does_not_mark_info_changes_allowed(tmp_path: Path) -> None:
    v1 = export(tmp_path / "v1", version=1, reading=Reading)
    v2 = export(tmp_path / "v2", version=2, reading=ReadingWithUnit)

    change = only_change(compare_schemas(v1, v2))

    assert (change.breaking, change.allowed) == (False, False)


def test_removing_a_contract_is_allowed_when_the_export_version_goes_up(tmp_path: Path) -> None:
    v1 = export(tmp_path / "v1", version=1, order=Order, reading=Reading)
    v2 = export(tmp_path / "v2", version=2, order=Order)

    ok, changes = check_compatibility(v1, v2)

    removed = find(changes, "", ChangeKind.CONTRACT_REMOVED)
    assert (removed.contract, removed.breaking, removed.allowed) == ("reading", True, True)
    assert ok


def test_single_schema_files_are_compared_directly(tmp_path: Path) -> None:
    export(tmp_path / "v1", version=1, order=Order)
    export(tmp_path / "v2", version=2, order=Order2)
    old_file = tmp_path / "v1" / "order.v1.schema.json"
    new_file = tmp_path / "v2" / "order.v2.schema.json"

    ok, changes = check_compatibility(old_file, new_file)

    assert ok
    assert only_change(changes).allowed
    assert not check_compatibility(new_file, old_file)[0]  # a downgrade is not a bump


def test_a_file_is_matched_by_name_against_a_directory(tmp_path: Path) -> None:
    old = export(tmp_path / "old", order=Order, reading=Reading)
    export(tmp_path / "new", order=Order2)

    changes = compare_schemas(old, tmp_path / "new" / "order.v1.schema.json")

    assert {(c.contract, c.kind) for c in changes} == {
        ("order", ChangeKind.FIELD_REMOVED),
        ("reading", ChangeKind.CONTRACT_REMOVED),
    }


# --- bad input ----------------------------------------------------------------------------


def test_a_missing_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such schema file or directory"):
        compare_schemas(tmp_path / "nowhere", tmp_path)


def test_a_file_that_is_not_json_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "order.v1.schema.json"
    bad.write_text("{not json")

    with pytest.raises(ConfigError, match="cannot read JSON"):
        compare_schemas(bad, bad)


def test_a_schema_without_a_contract_id_is_a_config_error(tmp_path: Path) -> None:
    anonymous = tmp_path / "anything.json"
    anonymous.write_text(json.dumps({"type": "object"}))

    with pytest.raises(ConfigError, match=r"urn:interlock:contract"):
        compare_schemas(anonymous, anonymous)
