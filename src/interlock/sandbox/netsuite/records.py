"""The record types the emulated account knows, with their fields.

Field names follow the 2026.1 REST API Browser catalog (see vendor-apis.md §2.5). Where the
catalog lists enum ids but not their labels, or does not say what is required, the choice is
ours and marked "Interlock assumption". References that the catalog types as a polymorphic
entity (``timeBill.customer`` may be a customer or a project) accept one record type here:
the one an integration of a professional-services firm uses (the project).
"""

from __future__ import annotations

from collections.abc import Mapping

from interlock.sandbox.netsuite.choices import (
    ALLOCATION_TYPES,
    ALLOCATION_UNITS,
    EXPENSE_REPORT_STATUSES,
    INVOICE_STATUSES,
    JOB_BILLING_TYPES,
    JOB_STATUSES,
    TASK_STATUSES,
    TIME_APPROVAL,
    TIME_TYPES,
)
from interlock.sandbox.netsuite.schema import Field, Kind, RecordType

_T, _D, _TS, _N, _B = Kind.TEXT, Kind.DATE, Kind.DATETIME, Kind.NUMBER, Kind.BOOLEAN


def _ref(target: str, label: str, *, required: bool = False) -> Field:
    return Field(Kind.REF, label, ref=target, required=required)


def _enum(choices: Mapping[str, str], label: str, *, read_only: bool = False) -> Field:
    return Field(Kind.ENUM, label, choices=choices, read_only=read_only)


def _sublist(label: str, **lines: Field) -> Field:
    return Field(Kind.SUBLIST, label, lines={"line": Field(_N, "Line", read_only=True), **lines})


def _computed(label: str) -> Field:
    return Field(_N, label, read_only=True)


def _type(
    type_name: str, ref_name: tuple[str, ...], /, created: str = "dateCreated", **fields: Field
) -> RecordType:
    common = {
        "id": Field(_T, "Internal ID", read_only=True),
        "externalId": Field(_T, "External ID"),
        created: Field(_TS, "Date Created", read_only=True),
        "lastModifiedDate": Field(_TS, "Last Modified Date", read_only=True),
    }
    return RecordType(type_name, {**common, **fields}, ref_name, created)


_LISTS = (
    _type(
        "currency",
        ("name",),
        name=Field(_T, "Name", required=True),
        symbol=Field(_T, "ISO Code", required=True),
        isBaseCurrency=Field(_B, "Base Currency"),
        exchangeRate=Field(_N, "Default Exchange Rate"),
        isInactive=Field(_B, "Inactive"),
    ),
    _type(
        "subsidiary",
        ("name",),
        name=Field(_T, "Name", required=True),
        currency=_ref("currency", "Currency"),
        country=Field(_T, "Country"),
        isInactive=Field(_B, "Inactive"),
    ),
    _type(
        "expenseCategory",
        ("name",),
        name=Field(_T, "Name", required=True),
        description=Field(_T, "Description"),
        isinactive=Field(_B, "Inactive"),
    ),
    _type(
        "serviceSaleItem",
        ("itemId",),
        itemId=Field(_T, "Item Name/Number", required=True),
        displayName=Field(_T, "Display Name/Code"),
        rate=Field(_N, "Rate"),
        isInactive=Field(_B, "Inactive"),
    ),
)

_ENTITIES = (
    _type(
        "customer",
        ("entityId", "companyName"),
        entityId=Field(_T, "Customer ID"),
        companyName=Field(_T, "Company Name", required=True),
        isPerson=Field(_B, "Type"),
        email=Field(_T, "Email"),
        phone=Field(_T, "Phone"),
        comments=Field(_T, "Comments"),
        subsidiary=_ref("subsidiary", "Primary Subsidiary", required=True),
        currency=_ref("currency", "Currency"),
        parent=_ref("customer", "Child Of"),
        defaultAddress=Field(_T, "Default Address"),
        isInactive=Field(_B, "Inactive"),
    ),
    _type(
        "job",
        ("entityId", "companyName"),
        entityId=Field(_T, "Project ID"),
        companyName=Field(_T, "Project Name", required=True),
        parent=_ref("customer", "Customer", required=True),
        startDate=Field(_D, "Start Date"),
        projectedEndDate=Field(_D, "Estimated End Date"),
        endDate=Field(_D, "Actual End Date"),
        jobBillingType=_enum(JOB_BILLING_TYPES, "Billing Type"),
        entityStatus=_enum(JOB_STATUSES, "Status"),
        projectManager=_ref("employee", "Project Manager"),
        currency=_ref("currency", "Currency"),
        subsidiary=_ref("subsidiary", "Subsidiary"),
        jobPrice=Field(_N, "Project Price"),
        comments=Field(_T, "Comments"),
        isInactive=Field(_B, "Inactive"),
    ),
    _type(
        "employee",
        ("entityId",),
        entityId=Field(_T, "Name"),
        firstName=Field(_T, "First Name", required=True),
        lastName=Field(_T, "Last Name", required=True),
        email=Field(_T, "Email"),
        title=Field(_T, "Job Title"),
        laborCost=Field(_N, "Labor Cost"),
        subsidiary=_ref("subsidiary", "Subsidiary", required=True),
        isJobResource=Field(_B, "Project Resource"),
        isInactive=Field(_B, "Inactive"),
    ),
)

_PROJECT_WORK = (
    _type(
        "projectTask",
        ("title",),
        title=Field(_T, "Name", required=True),
        # The REST catalog calls the project `project` (SOAP called it `company`).
        project=_ref("job", "Project", required=True),
        parent=_ref("projectTask", "Parent Task"),
        status=_enum(TASK_STATUSES, "Status"),
        finishByDate=Field(_D, "Finish No Later Than"),
        estimatedWork=Field(_N, "Estimated Work"),
        # The catalog types plannedWork as a string; the UI and SuiteQL treat it as hours.
        plannedWork=Field(_N, "Planned Work"),
        nonBillableTask=Field(_B, "Non-billable"),
        owner=_ref("employee", "Owner"),
        message=Field(_T, "Comments"),
        isInactive=Field(_B, "Inactive"),
        assignee=_sublist(
            "Resources",
            resource=_ref("employee", "Resource", required=True),
            units=Field(_N, "Units"),
            unitCost=Field(_N, "Unit Cost"),
            unitPrice=Field(_N, "Unit Price"),
            estimatedWork=Field(_N, "Estimated Work"),
            plannedWork=Field(_N, "Planned Work"),
            serviceItem=_ref("serviceSaleItem", "Service Item"),
        ),
    ),
    _type(
        "resourceAllocation",
        ("id",),
        allocationResource=_ref("employee", "Resource", required=True),
        project=_ref("job", "Customer:Project", required=True),
        projectTask=_ref("projectTask", "Project Task"),
        startDate=Field(_D, "Start Date", required=True),
        endDate=Field(_D, "End Date", required=True),
        allocationAmount=Field(_N, "Allocate", required=True),
        allocationUnit=_enum(ALLOCATION_UNITS, "Allocation Unit"),
        allocationType=_enum(ALLOCATION_TYPES, "Allocation Type"),
        numberHours=_computed("Number of Hours"),
        percentOfTime=_computed("Percentage of Time"),
        requestedBy=_ref("employee", "Requested By"),
        notes=Field(_T, "Notes"),
    ),
    _type(
        "timeBill",
        ("id",),
        created="createdDate",
        employee=_ref("employee", "Employee", required=True),
        customer=_ref("job", "Customer:Project"),
        caseTaskEvent=_ref("projectTask", "Case/Task/Event"),
        item=_ref("serviceSaleItem", "Service Item"),
        tranDate=Field(_D, "Date", required=True),
        hours=Field(Kind.DURATION, "Duration", required=True),
        isBillable=Field(_B, "Billable"),
        rate=Field(_N, "Rate"),
        memo=Field(_T, "Memo"),
        approvalStatus=_enum(TIME_APPROVAL, "Approval Status"),
        timeType=_enum(TIME_TYPES, "Type"),
        resourceAllocation=_ref("resourceAllocation", "Resource Allocation"),
        subsidiary=_ref("subsidiary", "Subsidiary"),
        supervisorApproval=Field(_B, "Supervisor Approval"),
        rejectionNote=Field(_T, "Rejection Note"),
    ),
)

_TRANSACTIONS = (
    _type(
        "expenseReport",
        ("tranId",),
        created="createdDate",
        tranId=Field(_T, "Exp. Rept. #"),
        tranDate=Field(_D, "Date"),
        entity=_ref("employee", "Employee", required=True),
        memo=Field(_T, "Purpose"),
        complete=Field(_B, "Complete"),
        supervisorapproval=Field(_B, "Supervisor Approval"),
        accountingapproval=Field(_B, "Accounting Approval"),
        status=_enum(EXPENSE_REPORT_STATUSES, "Status", read_only=True),
        amount=_computed("Total Reimbursable Amount"),
        total=_computed("Expenses Total"),
        expensereportcurrency=_ref("currency", "Currency"),
        subsidiary=_ref("subsidiary", "Subsidiary"),
        expense=_sublist(
            "Expenses",
            expensedate=Field(_D, "Date"),
            category=_ref("expenseCategory", "Category", required=True),
            amount=Field(_N, "Amount", required=True),
            currency=_ref("currency", "Currency"),
            customer=_ref("job", "Customer:Project"),
            projecttask=_ref("projectTask", "Project Task"),
            isBillable=Field(_B, "Billable"),
            memo=Field(_T, "Memo"),
            quantity=Field(_N, "Quantity"),
            rate=Field(_N, "Rate"),
        ),
    ),
    _type(
        "invoice",
        ("tranId",),
        created="createdDate",
        tranId=Field(_T, "Invoice #"),
        tranDate=Field(_D, "Date"),
        dueDate=Field(_D, "Due Date"),
        entity=_ref("customer", "Customer", required=True),
        job=_ref("job", "Project"),
        currency=_ref("currency", "Currency"),
        subsidiary=_ref("subsidiary", "Subsidiary"),
        otherRefNum=Field(_T, "PO/Check Number"),
        memo=Field(_T, "Memo"),
        status=_enum(INVOICE_STATUSES, "Status", read_only=True),
        subtotal=_computed("Subtotal"),
        total=_computed("Total"),
        item=_sublist(
            "Items",
            item=_ref("serviceSaleItem", "Item", required=True),
            description=Field(_T, "Description"),
            quantity=Field(_N, "Quantity"),
            rate=Field(_N, "Rate"),
            amount=Field(_N, "Amount"),
            job=_ref("job", "Project"),
        ),
    ),
)

TYPES: dict[str, RecordType] = {
    t.name: t for t in (*_LISTS, *_ENTITIES, *_PROJECT_WORK, *_TRANSACTIONS)
}
"""Every record type by its REST name."""

TRANSACTION_TYPES = {"expenseReport": "ExpRept", "invoice": "CustInvc"}
"""Record types stored as transactions: they share one id sequence and, in SuiteQL, the
``transaction`` table, told apart by ``type``."""
