"""Versioned JSON Schemas of the canonical contracts, and the check that they stay compatible.

`export_schemas` writes one JSON Schema (draft 2020-12) per contract of
``interlock.model.CONTRACTS`` plus an ``index.json``. The output is byte-stable, so the
files can be committed and reviewed as diffs. `compare_schemas` walks an old and a new export
side by side and lists every `Change`; `check_compatibility` says whether the new export may
replace the old one.

A change is *breaking* when data valid under the old schema may be refused under the new
one, or a consumer loses something it relied on:

- a contract or a field removed; a field becoming confidential;
- a type changed or narrowed (``null`` no longer allowed, ``number`` to ``integer``);
- a new required field, or an optional field becoming required;
- enum values removed, or an enum added where any value was allowed;
- string, number or array bounds tightened; a pattern or format added or changed;
- ``additionalProperties: false`` added where extra properties were allowed.

Everything else is reported as information: new contracts and optional fields, widened types
(``integer`` to ``number``, ``null`` allowed), enum values added, bounds loosened,
descriptions and defaults changed. A breaking change to a contract whose version went up
(``project.v1`` to ``project.v2``) is *allowed*: it is still reported, but the check passes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from interlock.exceptions import ConfigError
from interlock.model import CONTRACT_VERSION, CONTRACTS

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
INDEX_FILE = "index.json"

Schema = dict[str, Any]

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_ID = re.compile(r"urn:interlock:contract:(?P<name>[a-z][a-z0-9_]*):v(?P<version>\d+)")
_FILE = re.compile(r"(?P<name>[a-z][a-z0-9_]*)\.v(?P<version>\d+)\.schema\.json")


class ChangeKind(StrEnum):
    """What changed between two versions of a contract schema."""

    CONTRACT_ADDED = "contract_added"
    CONTRACT_REMOVED = "contract_removed"
    FIELD_ADDED = "field_added"
    FIELD_REMOVED = "field_removed"
    REQUIRED_ADDED = "required_added"
    REQUIRED_REMOVED = "required_removed"
    TYPE_CHANGED = "type_changed"
    TYPE_WIDENED = "type_widened"
    ENUM_VALUES_ADDED = "enum_values_added"
    ENUM_VALUES_REMOVED = "enum_values_removed"
    CONSTRAINT_TIGHTENED = "constraint_tightened"
    CONSTRAINT_LOOSENED = "constraint_loosened"
    PATTERN_CHANGED = "pattern_changed"
    FORMAT_CHANGED = "format_changed"
    ADDITIONAL_PROPERTIES_FORBIDDEN = "additional_properties_forbidden"
    ADDITIONAL_PROPERTIES_ALLOWED = "additional_properties_allowed"
    CONFIDENTIAL_ADDED = "confidential_added"
    CONFIDENTIAL_REMOVED = "confidential_removed"
    DESCRIPTION_CHANGED = "description_changed"
    DEFAULT_CHANGED = "default_changed"


@dataclass(frozen=True)
class Change:
    """One difference between an old and a new contract schema.

    Attributes:
        contract: Contract name, e.g. ``"project"``.
        path: Field path inside the contract: ``.`` between fields, ``[]`` for array items,
            ``*`` for map values, e.g. ``"lines[].rate.currency"``; ``""`` for the contract.
        kind: What changed.
        breaking: Whether data or consumers of the old schema may break.
        detail: What happened, in words, e.g. ``"removed"``.
        allowed: A breaking change made together with a version bump of the contract.
    """

    contract: str
    path: str
    kind: ChangeKind
    breaking: bool
    detail: str
    allowed: bool = False

    def __str__(self) -> str:
        subject = f"field '{self.path}'" if self.path else "contract"
        if not self.breaking:
            status = "info"
        elif self.allowed:
            status = "breaking, allowed by version bump"
        else:
            status = "breaking"
        return f"{self.contract}: {subject} {self.detail} ({status})"


def contract_schema(name: str, model: type[BaseModel], version: int) -> Schema:
    """Build the published JSON Schema of one contract.

    Args:
        name: Contract name (lower case, digits, underscores).
        model: The pydantic model of the contract.
        version: Contract version.

    Returns:
        The validation-mode schema with ``$schema``, ``$id`` and ``title`` set.

    Raises:
        ValueError: The name cannot be used in a file name or ``$id``.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"contract name {name!r} must match {_NAME.pattern}")
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = f"urn:interlock:contract:{name}:v{version}"
    schema.setdefault("title", model.__name__)
    return schema


def export_schemas(
    directory: Path,
    *,
    contracts: Mapping[str, type[BaseModel]] | None = None,
    version: int = CONTRACT_VERSION,
) -> list[Path]:
    """Write one ``<name>.v<version>.schema.json`` per contract, and ``index.json``.

    Files are written with sorted keys, two-space indent and a final newline, so exporting
    unchanged contracts again gives byte-identical files. Files of contracts that no longer
    exist are left alone; ``index.json`` lists only the current ones.

    Args:
        directory: Where to write; created if missing.
        contracts: Contract name → model; defaults to ``interlock.model.CONTRACTS``.
        version: Version written into names and ``$id``; defaults to ``CONTRACT_VERSION``.

    Returns:
        The written paths: the schema files in name order, then ``index.json``.
    """
    models = CONTRACTS if contracts is None else contracts
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    entries: list[dict[str, Any]] = []
    for name in sorted(models):
        file_name = f"{name}.v{version}.schema.json"
        _write_json(directory / file_name, contract_schema(name, models[name], version))
        entries.append({"file": file_name, "name": name, "version": version})
        written.append(directory / file_name)
    _write_json(directory / INDEX_FILE, {"contracts": entries})
    return [*written, directory / INDEX_FILE]


def compare_schemas(old: Path, new: Path) -> list[Change]:
    """List every change from the ``old`` schemas to the ``new`` ones.

    Each side is a directory written by `export_schemas` (read through its ``index.json``,
    or every ``*.schema.json`` when there is none) or a single schema file. Contracts are
    matched by name; two single files are compared with each other whatever their names.

    Args:
        old: The published schemas.
        new: The candidate schemas.

    Returns:
        Changes by contract name, then in schema order. Breaking changes to a contract whose
        version went up have ``allowed=True``; so does removing a contract when the new
        export has a higher version than the removed contract.

    Raises:
        ConfigError: A path is missing, or a file is not a readable contract schema.
    """
    before, after = _load(old), _load(new)
    if old.is_file() and new.is_file():
        [(name, was)], [now] = before.items(), after.values()
        return _compare_contract(name, was, now)
    newest = max((loaded.version for loaded in after.values()), default=0)
    changes: list[Change] = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            removed = Change(name, "", ChangeKind.CONTRACT_REMOVED, True, "removed")
            changes.append(replace(removed, allowed=newest > before[name].version))
        elif name not in before:
            changes.append(Change(name, "", ChangeKind.CONTRACT_ADDED, False, "added"))
        else:
            changes.extend(_compare_contract(name, before[name], after[name]))
    return changes


def check_compatibility(old: Path, new: Path) -> tuple[bool, list[Change]]:
    """Check that the ``new`` schemas may replace the ``old`` ones.

    Args:
        old: The published schemas (directory or file, as for `compare_schemas`).
        new: The candidate schemas.

    Returns:
        ``(ok, changes)``: ``ok`` is false when a breaking change is not allowed by a
        version bump; ``changes`` lists every change, breaking or not.

    Raises:
        ConfigError: A path is missing, or a file is not a readable contract schema.
    """
    changes = compare_schemas(old, new)
    return not any(c.breaking and not c.allowed for c in changes), changes


# --- reading and writing ------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    version: int
    schema: Schema


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")


def _read_json(path: Path) -> Schema:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), "(file)", f"cannot read JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(path), "(root)", "must be a JSON object")
    return data


def _load(path: Path) -> dict[str, _Loaded]:
    if path.is_file():
        files = [path]
    elif not path.is_dir():
        raise ConfigError(str(path), "(path)", "no such schema file or directory")
    elif (path / INDEX_FILE).is_file():
        files = [path / file for file in _index_files(path / INDEX_FILE)]
    else:
        files = sorted(path.glob("*.schema.json"))
    loaded: dict[str, _Loaded] = {}
    for file in files:
        name, contract = _load_file(file)
        if name in loaded:
            raise ConfigError(str(path), name, "contract appears more than once")
        loaded[name] = contract
    return loaded


def _index_files(index: Path) -> list[str]:
    entries = _read_json(index).get("contracts")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("file"), str) for e in entries
    ):
        raise ConfigError(str(index), "contracts", "must be a list of {name, version, file}")
    return [entry["file"] for entry in entries]


def _load_file(path: Path) -> tuple[str, _Loaded]:
    schema = _read_json(path)
    match = _ID.fullmatch(str(schema.get("$id", ""))) or _FILE.fullmatch(path.name)
    if match is None:
        rule = "must be urn:interlock:contract:<name>:v<version> (or file <name>.v<N>.schema.json)"
        raise ConfigError(str(path), "$id", rule)
    return match["name"], _Loaded(int(match["version"]), schema)


def _compare_contract(name: str, old: _Loaded, new: _Loaded) -> list[Change]:
    diff = _Diff(name, old.schema, new.schema)
    diff.node(old.schema, new.schema, "")
    bumped = new.version > old.version
    return [replace(c, allowed=True) if c.breaking and bumped else c for c in diff.changes]


# --- schema walking -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Branch:
    """One alternative of a node: a single JSON type, its schema and the $ref it came from."""

    type: str
    schema: Schema
    ref: str | None


def _pointer(root: Schema, ref: str) -> Schema:
    if not ref.startswith("#"):
        raise ConfigError(str(root.get("$id", "schema")), ref, "only local $ref is supported")
    target: Any = root
    for part in filter(None, ref[1:].split("/")):
        key = part.replace("~1", "/").replace("~0", "~")
        target = target.get(key) if isinstance(target, dict) else None
    if not isinstance(target, dict):
        raise ConfigError(str(root.get("$id", "schema")), ref, "$ref points nowhere")
    return target


def _resolve(node: Schema, root: Schema) -> Schema:
    """Follow ``$ref`` chains; keywords beside a ``$ref`` override the target's."""
    seen: set[str] = set()
    while isinstance(ref := node.get("$ref"), str) and ref not in seen:
        seen.add(ref)
        node = {**_pointer(root, ref), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _json_type(value: Any) -> str:
    names = {type(None): "null", bool: "boolean", int: "integer", float: "number"}
    names |= {str: "string", list: "array", dict: "object"}
    return names.get(type(value), "any")


def _types(node: Schema) -> list[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    values = _enum(node)
    if values:
        return sorted({_json_type(v) for v in values})
    if "properties" in node or "additionalProperties" in node:
        return ["object"]
    if "items" in node or "prefixItems" in node:
        return ["array"]
    return ["any"]


def _split(node: Schema, root: Schema, ref: str | None = None) -> list[_Branch]:
    """Flatten ``$ref``, ``anyOf`` and ``oneOf`` into one branch per JSON type."""
    ref = node.get("$ref", ref)
    node = _resolve(node, root)
    members = node.get("anyOf", node.get("oneOf"))
    if isinstance(members, list):
        return [b for m in members if isinstance(m, dict) for b in _split(m, root, ref)]
    return [_Branch(t, node, ref) for t in _types(node)]


def _enum(node: Schema) -> list[Any] | None:
    if isinstance(node.get("enum"), list):
        return list(node["enum"])
    return [node["const"]] if "const" in node else None


def _accepts(new_type: str, old_type: str) -> bool:
    return new_type in (old_type, "any") or (new_type, old_type) == ("number", "integer")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _describe(branches: list[_Branch]) -> str:
    labels = {b.schema.get("title", b.type) if b.type == "object" else b.type for b in branches}
    return "|".join(sorted(labels)) or "nothing"


def _match(branch: _Branch, old: list[_Branch], new: list[_Branch]) -> _Branch | None:
    """The new branch that takes over an old one: same type first, else a wider type."""
    candidates = [nb for nb in new if nb.type == branch.type] or [
        nb for nb in new if _accepts(nb.type, branch.type)
    ]
    # Several models in one union (Cat | Dog) are told apart by title.
    if len(candidates) > 1 or sum(ob.type == branch.type for ob in old) > 1:
        title = branch.schema.get("title")
        candidates = [nb for nb in candidates if nb.schema.get("title") == title]
    return candidates[0] if candidates else None


Bound = tuple[Any, bool]  # the limit, and whether it is exclusive
_BOUNDS = ((False, "minimum", "exclusiveMinimum"), (True, "maximum", "exclusiveMaximum"))


def _bound(node: Schema, inclusive: str, exclusive: str, upper: bool) -> Bound | None:
    bounds: list[Bound] = [(node[inclusive], False)] if inclusive in node else []
    if isinstance(node.get(exclusive), int | float) and not isinstance(node[exclusive], bool):
        bounds.append((node[exclusive], True))
    if not bounds:
        return None
    # The tighter bound wins: the lowest upper bound, the highest lower bound.
    ordered = sorted(bounds, key=lambda b: (b[0], b[1] != upper))
    return ordered[0] if upper else ordered[-1]


def _show_bound(bound: Bound, upper: bool) -> str:
    symbol = ("<" if upper else ">") + ("" if bound[1] else "=")
    return f"{symbol} {bound[0]}"


class _Diff:
    """Walks two schemas of one contract side by side and collects the changes."""

    def __init__(self, contract: str, old_root: Schema, new_root: Schema) -> None:
        self.contract = contract
        self.roots = (old_root, new_root)
        self.changes: list[Change] = []
        self._active: set[tuple[str | None, str | None]] = set()

    def add(self, path: str, kind: ChangeKind, breaking: bool, detail: str) -> None:
        self.changes.append(Change(self.contract, path, kind, breaking, detail))

    def node(self, old: Schema, new: Schema, path: str) -> None:
        old_r, new_r = _resolve(old, self.roots[0]), _resolve(new, self.roots[1])
        self._metadata(old_r, new_r, path)
        old_b = _split(old_r, self.roots[0], old.get("$ref"))
        new_b = _split(new_r, self.roots[1], new.get("$ref"))
        for ob, nb in self._pair(old_b, new_b, path):
            if ob.schema is not old_r or nb.schema is not new_r:
                self._description(ob.schema, nb.schema, path)
            self.branch(ob, nb, path)

    def _pair(
        self, old: list[_Branch], new: list[_Branch], path: str
    ) -> list[tuple[_Branch, _Branch]]:
        pairs = [(ob, nb) for ob in old if (nb := _match(ob, old, new)) is not None]
        was, now = _describe(old), _describe(new)
        if len(pairs) < len(old):
            narrowed = all(any(_accepts(o.type, n.type) for o in old) for n in new)
            verb = "narrowed" if narrowed else "changed"
            self.add(path, ChangeKind.TYPE_CHANGED, True, f"type {verb} from {was} to {now}")
            return pairs
        unused = len(new) - len({id(nb) for _, nb in pairs})
        if unused or any(ob.type != nb.type for ob, nb in pairs):
            self.add(path, ChangeKind.TYPE_WIDENED, False, f"type widened from {was} to {now}")
        return pairs

    def branch(self, old: _Branch, new: _Branch, path: str) -> None:
        key = (old.ref, new.ref)
        if key != (None, None) and key in self._active:
            return  # a recursive model: this pair is already being compared further up
        self._active.add(key)
        try:
            self._enum_values(old, new, path)
            kind = new.type if new.type != "any" else old.type
            if kind == "string":
                self._string(old.schema, new.schema, path)
            elif kind in ("integer", "number"):
                self._number(old.schema, new.schema, path)
            elif kind == "array":
                self._array(old.schema, new.schema, path)
            elif kind == "object":
                self._object(old.schema, new.schema, path)
        finally:
            self._active.discard(key)

    def _metadata(self, old: Schema, new: Schema, path: str) -> None:
        self._description(old, new, path)
        was, now = (_show(s["default"]) if "default" in s else "none" for s in (old, new))
        if was != now:
            self.add(path, ChangeKind.DEFAULT_CHANGED, False, f"default {was} became {now}")
        was_secret, is_secret = bool(old.get("x-confidential")), bool(new.get("x-confidential"))
        if is_secret and not was_secret:
            self.add(path, ChangeKind.CONFIDENTIAL_ADDED, True, "became confidential")
        elif was_secret and not is_secret:
            self.add(path, ChangeKind.CONFIDENTIAL_REMOVED, False, "no longer confidential")

    def _description(self, old: Schema, new: Schema, path: str) -> None:
        if old.get("description") != new.get("description"):
            self.add(path, ChangeKind.DESCRIPTION_CHANGED, False, "description changed")

    def _enum_values(self, old: _Branch, new: _Branch, path: str) -> None:
        def values(branch: _Branch) -> list[str] | None:
            found = _enum(branch.schema)
            if found is None:
                return None
            return [_show(v) for v in found if _accepts(branch.type, _json_type(v))]

        was, now = values(old), values(new)
        if was is None and now is not None:
            self.add(path, ChangeKind.CONSTRAINT_TIGHTENED, True, f"enum {', '.join(now)} added")
        elif was is not None and now is None:
            self.add(path, ChangeKind.CONSTRAINT_LOOSENED, False, "enum restriction removed")
        elif was is not None and now is not None:
            removed, added = [v for v in was if v not in now], [v for v in now if v not in was]
            if removed:
                detail = f"enum values removed: {', '.join(removed)}"
                self.add(path, ChangeKind.ENUM_VALUES_REMOVED, True, detail)
            if added:
                detail = f"enum values added: {', '.join(added)}"
                self.add(path, ChangeKind.ENUM_VALUES_ADDED, False, detail)

    def _limit(self, path: str, key: str, old: Schema, new: Schema, upper: bool) -> None:
        was, now = old.get(key), new.get(key)
        if was == now:
            return
        if now is None:
            self.add(path, ChangeKind.CONSTRAINT_LOOSENED, False, f"{key} {was} removed")
        elif was is None:
            self.add(path, ChangeKind.CONSTRAINT_TIGHTENED, True, f"{key} {now} added")
        else:
            verb = "lowered" if now < was else "raised"
            tighter = (now < was) == upper
            kind = ChangeKind.CONSTRAINT_TIGHTENED if tighter else ChangeKind.CONSTRAINT_LOOSENED
            self.add(path, kind, tighter, f"{key} {verb} from {was} to {now}")

    def _string(self, old: Schema, new: Schema, path: str) -> None:
        self._limit(path, "minLength", old, new, upper=False)
        self._limit(path, "maxLength", old, new, upper=True)
        kinds = {"pattern": ChangeKind.PATTERN_CHANGED, "format": ChangeKind.FORMAT_CHANGED}
        for key, kind in kinds.items():
            was, now = old.get(key), new.get(key)
            if was == now:
                continue
            if now is None:
                self.add(path, kind, False, f"{key} {_show(was)} removed")
            elif was is None:
                self.add(path, kind, True, f"{key} {_show(now)} added")
            else:
                self.add(path, kind, True, f"{key} changed from {_show(was)} to {_show(now)}")

    def _number(self, old: Schema, new: Schema, path: str) -> None:
        for upper, inclusive, exclusive in _BOUNDS:
            was = _bound(old, inclusive, exclusive, upper)
            now = _bound(new, inclusive, exclusive, upper)
            if was == now:
                continue
            name = "upper bound" if upper else "lower bound"
            if now is None or (was is not None and self._looser(was, now, upper)):
                shown = "none" if now is None else _show_bound(now, upper)
                detail = f"{name} loosened to {shown}"
                self.add(path, ChangeKind.CONSTRAINT_LOOSENED, False, detail)
            else:
                shown = "none" if was is None else _show_bound(was, upper)
                detail = f"{name} tightened from {shown} to {_show_bound(now, upper)}"
                self.add(path, ChangeKind.CONSTRAINT_TIGHTENED, True, detail)
        was_step, now_step = old.get("multipleOf"), new.get("multipleOf")
        if was_step != now_step:
            # Still loose enough when every old multiple is a new multiple.
            looser = now_step is None or (
                was_step is not None and Decimal(str(was_step)) % Decimal(str(now_step)) == 0
            )
            kind = ChangeKind.CONSTRAINT_LOOSENED if looser else ChangeKind.CONSTRAINT_TIGHTENED
            self.add(path, kind, not looser, f"multipleOf changed from {was_step} to {now_step}")

    @staticmethod
    def _looser(was: Bound, now: Bound, upper: bool) -> bool:
        if now[0] != was[0]:
            return bool(now[0] > was[0]) == upper
        return was[1] and not now[1]

    def _array(self, old: Schema, new: Schema, path: str) -> None:
        self._limit(path, "minItems", old, new, upper=False)
        self._limit(path, "maxItems", old, new, upper=True)
        if new.get("uniqueItems") and not old.get("uniqueItems"):
            self.add(path, ChangeKind.CONSTRAINT_TIGHTENED, True, "items must now be unique")
        elif old.get("uniqueItems") and not new.get("uniqueItems"):
            self.add(path, ChangeKind.CONSTRAINT_LOOSENED, False, "items need no longer be unique")
        if isinstance(old.get("items"), dict) or isinstance(new.get("items"), dict):
            self.node(_dict(old.get("items")), _dict(new.get("items")), f"{path}[]")
        for index, (was, now) in enumerate(
            zip(old.get("prefixItems", []), new.get("prefixItems", []), strict=False)
        ):
            self.node(was, now, f"{path}[{index}]")

    def _object(self, old: Schema, new: Schema, path: str) -> None:
        old_props: Schema = old.get("properties", {})
        new_props: Schema = new.get("properties", {})
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        for name, was in old_props.items():
            field_path = _join(path, name)
            if name not in new_props:
                self.add(field_path, ChangeKind.FIELD_REMOVED, True, "removed")
                continue
            if name in new_req and name not in old_req:
                self.add(field_path, ChangeKind.REQUIRED_ADDED, True, "became required")
            elif name in old_req and name not in new_req:
                self.add(field_path, ChangeKind.REQUIRED_REMOVED, False, "became optional")
            self.node(was, new_props[name], field_path)
        for name in (n for n in new_props if n not in old_props):
            required = name in new_req
            detail = "added as required" if required else "added as optional"
            self.add(_join(path, name), ChangeKind.FIELD_ADDED, required, detail)
        self._additional(old.get("additionalProperties"), new.get("additionalProperties"), path)

    def _additional(self, was: Any, now: Any, path: str) -> None:
        if now is False and was is not False:
            detail = "now forbids additional properties"
            self.add(path, ChangeKind.ADDITIONAL_PROPERTIES_FORBIDDEN, True, detail)
        elif was is False and now is not False:
            detail = "now allows additional properties"
            self.add(path, ChangeKind.ADDITIONAL_PROPERTIES_ALLOWED, False, detail)
        elif isinstance(was, dict) or isinstance(now, dict):
            self.node(_dict(was), _dict(now), _join(path, "*"))


def _dict(value: Any) -> Schema:
    return value if isinstance(value, dict) else {}  # absent or `true`: anything goes
