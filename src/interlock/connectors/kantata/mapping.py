"""Canonical project ↔ Kantata workspace and stories. Pure functions, no I/O.

Native shapes Interlock writes:

- A project is a workspace: ``title`` = name, ``start_date``/``due_date`` = the project dates,
  ``budgeted`` + ``price`` (major units) + ``currency`` from the budget, ``status_key`` from the
  status, ``stories_are_fixed_fee_by_default`` = fixed-fee billing. Its description starts out
  as the marker ``[interlock:<project id>]`` so a workspace whose reference was never
  registered (a crash between the two requests) can still be found.
- Tasks and milestones are stories (``story_type`` task / milestone) carrying the same kind of
  marker. A task's ``budget_estimate_in_cents`` is hours × rate in the workspace's subunits
  and ``time_estimate_in_minutes`` is hours × 60.
- The link back to canonical ids is a Kantata external reference per record
  (service_model ``project`` / ``task`` / ``milestone``, ``service_model_ref`` = canonical id).
  The customer, which Kantata does not hold on a workspace, is kept as one more reference on
  the workspace (service_model ``customer``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from interlock.exceptions import ContractViolation, FieldProblem, Team
from interlock.model import BillingType, Milestone, Project, ProjectStatus, Task, canonical_id
from interlock.model.base import validate_contract

Record = dict[str, Any]
PROJECT, TASK, MILESTONE, CUSTOMER = "project", "task", "milestone", "customer"

# Assumption: Kantata project status keys are configurable per account and the defaults were
# not documented in what we read; these match the sandbox's default status set.
STATUS_KEYS: dict[ProjectStatus, int] = {
    ProjectStatus.SETTING_UP: 210,
    ProjectStatus.ACTIVE: 300,
    ProjectStatus.ON_HOLD: 350,
    ProjectStatus.CLOSED: 400,
}


def marker(canonical: str) -> str:
    """The tag Interlock writes into a description to recognise its own record."""
    return f"[interlock:{canonical}]"


def carries_marker(record: Record, canonical: str) -> bool:
    """Whether a workspace or story description carries the marker of ``canonical``."""
    return marker(canonical) in str(record.get("description") or "")


def project_currency(project: Project) -> str | None:
    """The one currency of the project's money, or ContractViolation if they disagree."""
    amounts = [("budget", project.budget)]
    amounts += [(f"tasks.{i}.rate", t.rate) for i, t in enumerate(project.tasks)]
    amounts += [(f"milestones.{i}.amount", m.amount) for i, m in enumerate(project.milestones)]
    present = [(path, money.currency) for path, money in amounts if money is not None]
    if not present:
        return None
    currency = present[0][1]
    problems = [
        FieldProblem(
            f"{path}.currency",
            f"must be {currency} like {present[0][0]}: a Kantata workspace budgets in one currency",
        )
        for path, other in present
        if other != currency
    ]
    if problems:
        raise ContractViolation(f"project {project.id}", problems, team=Team.PMO)
    return currency


def workspace_fields(project: Project) -> Record:
    """Workspace attributes Interlock keeps in step with the canonical project."""
    fields: Record = {
        "title": project.name,
        "start_date": project.start_date.isoformat(),
        "due_date": project.end_date.isoformat(),
        "budgeted": project.budget is not None,
        "status_key": STATUS_KEYS[project.status],
        "stories_are_fixed_fee_by_default": project.billing_type == BillingType.FIXED_FEE,
    }
    currency = project_currency(project)
    if currency is not None:
        fields["currency"] = currency
    if project.budget is not None:
        fields["price"] = format(project.budget.amount, "f")
    return fields


def new_workspace(project: Project) -> Record:
    """Body of the workspace create: the kept fields, the marker, and Interlock's role."""
    return {**workspace_fields(project), "description": marker(project.id), "creator_role": "maven"}


def story_fields(item: Task | Milestone, base_unit: int) -> Record:
    """Story attributes for a task or a milestone; ``base_unit`` is the workspace's."""
    if isinstance(item, Milestone):
        return {
            "title": item.name,
            "story_type": "milestone",
            "due_date": item.due_date.isoformat(),
            "budget_estimate_in_cents": _subunits(
                item.amount.amount if item.amount is not None else None, base_unit
            ),
        }
    hours = item.budget_hours
    cost = hours * item.rate.amount if hours is not None and item.rate is not None else None
    return {
        "title": item.name,
        "story_type": "task",
        "budget_estimate_in_cents": _subunits(cost, base_unit),
        "time_estimate_in_minutes": _subunits(hours, 60),
        "fixed_fee": item.billing_type == BillingType.FIXED_FEE,
    }


def new_story(item: Task | Milestone, workspace_id: str, base_unit: int) -> Record:
    """Body of a story create: the kept fields, the workspace and the marker."""
    return {
        **story_fields(item, base_unit),
        "workspace_id": workspace_id,
        "description": marker(item.id),
    }


def _subunits(amount: Decimal | None, unit: int) -> int | None:
    if amount is None:
        return None
    return int((amount * unit).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def changes(current: Record, desired: Mapping[str, Any]) -> Record:
    """The desired fields whose value differs from the current record (what a PUT must send)."""
    changed: Record = {}
    for name, value in desired.items():
        if name == "status_key":
            now = (current.get("status") or {}).get("key")
        elif name == "price":
            now, value = _decimal(current.get("price")), _decimal(value)
        else:
            now = current.get(name)
        if now != value:
            changed[name] = desired[name]
    return changed


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        return None


def canonical_ref(references: Iterable[Record], service_name: str, model: str) -> str | None:
    """The canonical id registered on a record for ``model`` by ``service_name``."""
    for ref in references:
        if ref.get("service_name") == service_name and ref.get("service_model") == model:
            return str(ref["service_model_ref"])
    return None


def project_status(workspace: Record) -> ProjectStatus:
    """Status from the workspace; an archived workspace is closed. Unknown keys go by range."""
    if workspace.get("archived"):
        return ProjectStatus.CLOSED
    key = int((workspace.get("status") or {}).get("key") or 0)
    for status, known in STATUS_KEYS.items():
        if key == known:
            return status
    if key >= 400:
        return ProjectStatus.CLOSED
    if key >= 350:
        return ProjectStatus.ON_HOLD
    return ProjectStatus.ACTIVE if key >= 300 else ProjectStatus.SETTING_UP


def to_project(
    workspace: Record, references: Iterable[Record], *, system: str, service_name: str
) -> Project:
    """The canonical project of a workspace (without tasks: stories are not read back).

    The id is the one Interlock registered, else derived from the workspace id. Kantata has no
    customer on a workspace: the customer comes from Interlock's ``customer`` reference, and a
    workspace without one (made by hand in Kantata) raises ContractViolation for PMO to link.
    """
    refs = list(references)
    native_id = str(workspace.get("id"))
    problems: list[FieldProblem] = []
    customer = canonical_ref(refs, service_name, CUSTOMER)
    if customer is None:
        problems.append(
            FieldProblem(
                "customer_id",
                "Kantata workspaces carry no customer; "
                "create the project through Interlock or register a "
                f"'{CUSTOMER}' external reference on workspace {native_id}",
            )
        )
    for field, source in (("start_date", "start_date"), ("end_date", "due_date")):
        if not workspace.get(source):
            problems.append(FieldProblem(field, f"workspace {native_id} has no {source}"))
    data: Record = {
        "id": canonical_ref(refs, service_name, PROJECT)
        or canonical_id(PROJECT, system, native_id),
        "name": workspace.get("title"),
        "customer_id": customer or "unknown",
        "status": project_status(workspace),
        "start_date": workspace.get("start_date") or dt.date.min,
        "end_date": workspace.get("due_date") or dt.date.max,
        "billing_type": BillingType.FIXED_FEE
        if workspace.get("stories_are_fixed_fee_by_default")
        else BillingType.TIME_AND_MATERIALS,
        "budget": _budget(workspace),
    }
    subject = f"Kantata workspace {native_id}"
    try:
        project = validate_contract(Project, data, subject=subject, team=Team.PMO)
    except ContractViolation as exc:
        problems += exc.problems
    if problems:
        raise ContractViolation(subject, problems, team=Team.PMO)
    return project


def _budget(workspace: Record) -> Record | None:
    cents = workspace.get("price_in_cents")
    if not workspace.get("budgeted") or cents is None:
        return None
    unit = int(workspace.get("currency_base_unit") or 100)
    return {"amount": Decimal(int(cents)) / unit, "currency": workspace.get("currency")}
