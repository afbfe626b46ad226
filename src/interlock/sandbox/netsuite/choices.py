"""Enum ids and labels of the emulated record types.

The REST catalog lists the ids of most enums but not their labels; labels (and, where marked,
what an id means) are Interlock assumptions.
"""

JOB_BILLING_TYPES = {
    "1": "Charge-Based",
    "2": "Fixed Bid, Interval",
    "3": "Fixed Bid, Milestone",
    "4": "Time and Materials",
    "5": "None",
}
"""Interlock assumption: the catalog lists ids "1".."5" without labels."""
JOB_STATUSES = {
    "1": "Closed",
    "2": "In Progress",
    "3": "Not Awarded",
    "4": "Pending",
    "5": "Awarded",
}
"""Interlock assumption, as above."""
TASK_STATUSES = {"NOTSTART": "Not Started", "PROGRESS": "In Progress", "COMPLETE": "Completed"}
TIME_APPROVAL = {"1": "Open", "2": "Pending Approval", "3": "Approved", "4": "Rejected"}
"""Interlock assumption: the catalog lists ids "1".."4" for timeBill.approvalStatus."""
TIME_TYPES = {"A": "Actual Time", "P": "Planned Time", "B": "Allocated Time"}
"""Interlock assumption on the labels of ids A, P and B."""
ALLOCATION_UNITS = {"H": "Hours", "P": "Percent of Time"}
ALLOCATION_TYPES = {"1": "Hard", "2": "Soft"}
"""Interlock assumption: the catalog lists ids "1" and "2" without labels."""
EXPENSE_REPORT_STATUSES = {
    "A": "In Progress",
    "B": "Pending Supervisor Approval",
    "C": "Pending Accounting Approval",
    "D": "Rejected by Supervisor",
    "E": "Rejected by Accounting",
    "F": "Approved by Accounting",
    "G": "Approved (Overridden) by Accounting",
    "H": "Rejected (Overridden) by Accounting",
    "I": "Paid In Full",
    "V": "Voided",
}
"""Interlock assumption on the labels (the catalog also lists "J", meaning unknown)."""
INVOICE_STATUSES = {
    "A": "Open",
    "B": "Paid In Full",
    "D": "Pending Approval",
    "E": "Rejected",
    "V": "Voided",
}
"""Interlock assumption on the labels of the catalog's ids A, B, D, E and V."""
