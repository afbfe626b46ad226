"""Business flows, registered explicitly in ``FLOW_TYPES`` (topology name → class)."""

from __future__ import annotations

from interlock.engine.flow import Flow
from interlock.flows.forward import Forward
from interlock.flows.invoice_project import InvoiceProject
from interlock.flows.mobilize import Mobilize
from interlock.flows.post_time import PostTime
from interlock.flows.project_changes import ProjectChanges

FLOW_TYPES: dict[str, type[Flow]] = {
    Forward.name: Forward,
    Mobilize.name: Mobilize,
    PostTime.name: PostTime,
    InvoiceProject.name: InvoiceProject,
    ProjectChanges.name: ProjectChanges,
}

__all__ = ["FLOW_TYPES", "Forward", "InvoiceProject", "Mobilize", "PostTime", "ProjectChanges"]
