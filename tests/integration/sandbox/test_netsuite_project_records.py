"""Contract tests of the NetSuite sandbox's project and money records over real HTTP:
projectTask, resourceAllocation, timeBill, expenseReport, invoice (status codes, Location,
eid upsert, references, sublists, computed values, SuiteQL tables)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from interlock.sandbox.netsuite import NetSuiteState, create_app
from interlock.sandbox.server import SandboxServer

RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
BEARER = "sandbox-test-token"


@pytest.fixture
def state() -> NetSuiteState:
    state = NetSuiteState(clock=lambda: dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    state.issue_token(BEARER)
    return state


@pytest.fixture
def server(state: NetSuiteState) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(state)) as server:
        yield server


@pytest.fixture
def api(server: SandboxServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {BEARER}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client:
        yield client


def created(response: httpx.Response) -> str:
    assert response.status_code == 204, response.text
    assert response.content == b""
    return response.headers["Location"].rsplit("/", 1)[1]


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["status"] == response.status_code
    detail: dict[str, Any] = body["o:errorDetails"][0]
    return detail


class Setup:
    """A customer with two projects, a task on each, and an employee (ids as strings)."""

    def __init__(self, api: httpx.Client) -> None:
        body = {"companyName": "Acme", "subsidiary": {"id": "1"}, "currency": {"id": "2"}}
        self.customer = created(api.post(f"{RECORD}/customer", json=body))
        other = {"companyName": "Other", "subsidiary": {"id": "1"}}
        self.other_customer = created(api.post(f"{RECORD}/customer", json=other))
        self.job = created(
            api.post(f"{RECORD}/job", json={"companyName": "ERP", "parent": {"id": self.customer}})
        )
        self.other_job = created(
            api.post(
                f"{RECORD}/job", json={"companyName": "CRM", "parent": {"id": self.other_customer}}
            )
        )
        self.task = created(
            api.post(f"{RECORD}/projectTask", json={"title": "Design", "project": {"id": self.job}})
        )
        self.other_task = created(
            api.post(
                f"{RECORD}/projectTask", json={"title": "Build", "project": {"id": self.other_job}}
            )
        )
        employee = {"firstName": "Ada", "lastName": "Lovelace", "subsidiary": {"id": "1"}}
        self.employee = created(api.post(f"{RECORD}/employee", json=employee))


@pytest.fixture
def setup(api: httpx.Client) -> Setup:
    return Setup(api)


def time_bill(setup: Setup, **extra: Any) -> dict[str, Any]:
    return {
        "employee": {"id": setup.employee},
        "customer": {"id": setup.job},
        "caseTaskEvent": {"id": setup.task},
        "tranDate": "2026-03-03",
        "hours": "7:30",
        "isBillable": True,
        "approvalStatus": {"id": "3"},
        **extra,
    }


def invoice(setup: Setup, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    items = list(lines) or [{"item": {"id": "1"}, "quantity": 10, "rate": 150.0}]
    return {
        "entity": {"id": setup.customer},
        "job": {"id": setup.job},
        "tranDate": "2026-03-31",
        "otherRefNum": "PO-77",
        "item": {"items": items},
        **extra,
    }


# -- projectTask and resourceAllocation ------------------------------------------------------


def test_project_task_references_its_project(
    api: httpx.Client, setup: Setup, server: SandboxServer
) -> None:
    task = api.get(f"{RECORD}/projectTask/{setup.task}").json()
    assert task["project"] == {
        "id": setup.job,
        "refName": "ERP",
        "links": [{"rel": "self", "href": f"{server.base_url}{RECORD}/job/{setup.job}"}],
    }
    assert task["status"] == {"id": "NOTSTART", "refName": "Not Started"}
    missing = api.post(f"{RECORD}/projectTask", json={"title": "X", "project": {"id": "99"}})
    assert missing.status_code == 400
    assert (error_of(missing)["o:errorCode"], error_of(missing)["o:errorPath"]) == (
        "INVALID_KEY_OR_REF",
        "project",
    )


def test_resource_allocation_computes_hours_and_percent(api: httpx.Client, setup: Setup) -> None:
    body = {
        "allocationResource": {"id": setup.employee},
        "project": {"id": setup.job},
        "projectTask": {"id": setup.task},
        "startDate": "2026-03-02",
        "endDate": "2026-03-13",  # ten weekdays
        "allocationAmount": 50,
        "allocationUnit": {"id": "P"},
    }
    allocation_id = created(api.put(f"{RECORD}/resourceAllocation/eid:ASG-1", json=body))
    record = api.get(f"{RECORD}/resourceAllocation/eid:ASG-1").json()
    assert record["id"] == allocation_id
    assert (record["numberHours"], record["percentOfTime"]) == (40.0, 50.0)
    assert record["allocationUnit"] == {"id": "P", "refName": "Percent of Time"}
    assert record["allocationType"]["id"] == "1"
    backwards = api.put(
        f"{RECORD}/resourceAllocation/eid:ASG-2", json={**body, "endDate": "2026-03-01"}
    )
    assert error_of(backwards)["o:errorPath"] == "endDate"
    foreign = api.put(
        f"{RECORD}/resourceAllocation/eid:ASG-3",
        json={**body, "projectTask": {"id": setup.other_task}},
    )
    assert (error_of(foreign)["o:errorCode"], error_of(foreign)["o:errorPath"]) == (
        "INVALID_KEY_OR_REF",
        "projectTask",
    )


# -- timeBill ---------------------------------------------------------------------------------


def test_time_bill_upsert_by_external_id_renders_the_duration(
    api: httpx.Client, setup: Setup, state: NetSuiteState
) -> None:
    first = api.put(f"{RECORD}/timeBill/eid:TE-1", json=time_bill(setup))
    second = api.put(f"{RECORD}/timeBill/eid:TE-1", json=time_bill(setup, hours="8.25"))
    assert first.headers["Location"] == second.headers["Location"]
    [stored] = state.records("timeBill")
    assert stored["hours"] == 495
    bill = api.get(f"{RECORD}/timeBill/eid:TE-1").json()
    assert bill["hours"] == "8:15"
    assert bill["customer"]["id"] == setup.job
    assert bill["caseTaskEvent"]["refName"] == "Design"
    assert bill["approvalStatus"] == {"id": "3", "refName": "Approved"}
    assert bill["createdDate"] == bill["lastModifiedDate"] == "2026-03-02T09:00:00Z"
    assert "dateCreated" not in bill


@pytest.mark.parametrize(
    ("change", "code", "path"),
    [
        ({"hours": "7h30"}, "INVALID_CONTENT", "hours"),
        ({"hours": 7.5}, "INVALID_CONTENT", "hours"),
        ({"employee": {"id": "404"}}, "INVALID_KEY_OR_REF", "employee"),
        ({"tranDate": None}, "USER_ERROR", "tranDate"),
    ],
)
def test_invalid_time_bills_are_refused_naming_the_field(
    api: httpx.Client, setup: Setup, change: dict[str, Any], code: str, path: str
) -> None:
    response = api.post(f"{RECORD}/timeBill", json=time_bill(setup, **change))
    assert response.status_code == 400
    assert (error_of(response)["o:errorCode"], error_of(response)["o:errorPath"]) == (code, path)


def test_time_bill_task_must_belong_to_its_project(api: httpx.Client, setup: Setup) -> None:
    wrong = api.post(
        f"{RECORD}/timeBill", json=time_bill(setup, caseTaskEvent={"id": setup.other_task})
    )
    assert error_of(wrong)["o:errorPath"] == "caseTaskEvent"
    body = time_bill(setup)
    del body["customer"]  # NetSuite fills the project in from the task
    bill_id = created(api.post(f"{RECORD}/timeBill", json=body))
    assert api.get(f"{RECORD}/timeBill/{bill_id}").json()["customer"]["id"] == setup.job


def test_time_bill_collection_filters_and_deletes(api: httpx.Client, setup: Setup) -> None:
    for day in ("2026-03-02", "2026-03-03", "2026-03-04"):
        created(api.post(f"{RECORD}/timeBill", json=time_bill(setup, tranDate=day)))
    found = api.get(f"{RECORD}/timeBill", params={"q": 'tranDate ON_OR_AFTER "2026-03-03"'})
    assert [i["id"] for i in found.json()["items"]] == ["2", "3"]
    longer = api.get(f"{RECORD}/timeBill", params={"q": 'hours GREATER "7:00"'})
    assert longer.json()["totalResults"] == 3
    assert api.delete(f"{RECORD}/timeBill/2").status_code == 204
    assert api.get(f"{RECORD}/timeBill/2").status_code == 404


# -- invoice and expenseReport ---------------------------------------------------------------


def test_invoice_totals_lines_and_sublist_links(
    api: httpx.Client, setup: Setup, server: SandboxServer
) -> None:
    lines = (
        {"item": {"id": "1"}, "description": "Design", "quantity": 10, "rate": 150.0},
        {"item": {"id": "1"}, "description": "Travel", "amount": 99.5},
    )
    invoice_id = created(api.put(f"{RECORD}/invoice/eid:INV-1", json=invoice(setup, *lines)))
    plain = api.get(f"{RECORD}/invoice/{invoice_id}").json()
    own = f"{server.base_url}{RECORD}/invoice/{invoice_id}"
    assert plain["item"] == {"links": [{"rel": "self", "href": f"{own}/item"}]}
    assert (plain["subtotal"], plain["total"]) == (1599.5, 1599.5)
    assert plain["status"] == {"id": "A", "refName": "Open"}
    assert (plain["tranId"], plain["otherRefNum"]) == ("INV00001", "PO-77")
    assert plain["currency"]["id"] == "2"  # from the customer
    expanded = api.get(own, params={"expandSubResources": "true"}).json()["item"]
    assert (expanded["count"], expanded["totalResults"], expanded["hasMore"]) == (2, 2, False)
    assert [(i["line"], i["amount"]) for i in expanded["items"]] == [(1, 1500.0), (2, 99.5)]
    assert expanded["items"][0]["item"]["refName"] == "Professional Services"
    sublist = api.get(f"{own}/item").json()
    assert [i["description"] for i in sublist["items"]] == ["Design", "Travel"]


def test_upsert_appends_sublist_lines_unless_replace_names_the_sublist(
    api: httpx.Client, setup: Setup, state: NetSuiteState
) -> None:
    line = {"item": {"id": "1"}, "quantity": 1, "rate": 100.0}
    api.put(f"{RECORD}/invoice/eid:INV-2", json=invoice(setup, line))
    api.put(f"{RECORD}/invoice/eid:INV-2", json=invoice(setup, line))
    [appended] = state.records("invoice")
    assert [ln["line"] for ln in appended["item"]] == [1, 2]
    assert appended["total"] == 200.0
    response = api.put(
        f"{RECORD}/invoice/eid:INV-2", params={"replace": "item"}, json=invoice(setup, line)
    )
    assert response.status_code == 204
    [replaced] = state.records("invoice")
    assert (len(replaced["item"]), replaced["total"]) == (1, 100.0)
    bogus = api.patch(
        f"{RECORD}/invoice/{replaced['id']}", params={"replace": "lines"}, json={"memo": "x"}
    )
    assert (bogus.status_code, error_of(bogus)["o:errorQueryParam"]) == (400, "replace")


@pytest.mark.parametrize(
    ("body_of", "code", "path"),
    [
        (lambda s: invoice(s, {"quantity": 1, "rate": 5.0}), "USER_ERROR", "item.items[0].item"),
        (
            lambda s: invoice(s, {"item": {"id": "9"}, "amount": 5.0}),
            "INVALID_KEY_OR_REF",
            "item.items[0].item",
        ),
        (lambda s: invoice(s, {"item": {"id": "1"}}), "USER_ERROR", "item.items[0].amount"),
        (lambda s: {**invoice(s), "item": {"items": []}}, "USER_ERROR", "item"),
        (lambda s: invoice(s, job={"id": s.other_job}), "INVALID_KEY_OR_REF", "job"),
        (lambda s: invoice(s, total=5.0), "INVALID_CONTENT", "total"),
    ],
)
def test_invalid_invoices_are_refused_naming_the_field(
    api: httpx.Client, setup: Setup, state: NetSuiteState, body_of: Any, code: str, path: str
) -> None:
    response = api.post(f"{RECORD}/invoice", json=body_of(setup))
    assert response.status_code == 400
    assert (error_of(response)["o:errorCode"], error_of(response)["o:errorPath"]) == (code, path)
    assert state.records("invoice") == []


def test_expense_report_status_follows_approvals_and_shares_transaction_ids(
    api: httpx.Client, setup: Setup
) -> None:
    invoice_id = created(api.post(f"{RECORD}/invoice", json=invoice(setup)))
    line = {"category": {"id": "1"}, "amount": 120.5, "customer": {"id": setup.job}}
    body = {"entity": {"id": setup.employee}, "complete": True, "expense": {"items": [line]}}
    report_id = created(api.put(f"{RECORD}/expenseReport/eid:EXP-1", json=body))
    assert int(report_id) == int(invoice_id) + 1  # one id sequence for transactions
    report = api.get(f"{RECORD}/expenseReport/{report_id}").json()
    assert report["status"]["refName"] == "Pending Supervisor Approval"
    assert (report["total"], report["tranId"]) == (120.5, "EXP00001")
    approved = {"supervisorapproval": True, "accountingapproval": True}
    api.patch(f"{RECORD}/expenseReport/{report_id}", json=approved)
    assert api.get(f"{RECORD}/expenseReport/{report_id}").json()["status"]["id"] == "F"
    assert api.get(f"{RECORD}/invoice/{report_id}").status_code == 404
    no_category = {**body, "expense": {"items": [{"amount": 5.0}]}}
    refused = api.post(f"{RECORD}/expenseReport", json=no_category)
    assert error_of(refused)["o:errorPath"] == "expense.items[0].category"


# -- SuiteQL ---------------------------------------------------------------------------------


def query(api: httpx.Client, q: str) -> httpx.Response:
    return api.post(SUITEQL, json={"q": q}, headers={"Prefer": "transient"})


def test_suiteql_reads_time_bills_and_transactions(api: httpx.Client, setup: Setup) -> None:
    api.put(f"{RECORD}/timeBill/eid:TE-1", json=time_bill(setup))
    api.put(f"{RECORD}/timeBill/eid:TE-2", json=time_bill(setup, hours="0:45"))
    rows = query(
        api,
        "SELECT id, externalid, hours, customer, casetaskevent, isbillable, approvalstatus "
        "FROM timebill WHERE externalid IN ('TE-2', 'TE-1', 'TE-9') ORDER BY externalid",
    ).json()["items"]
    assert [{k: v for k, v in r.items() if k != "links"} for r in rows] == [
        {
            "id": "1",
            "externalid": "TE-1",
            "hours": "7.5",
            "customer": setup.job,
            "casetaskevent": setup.task,
            "isbillable": "T",
            "approvalstatus": "3",
        },
        {
            "id": "2",
            "externalid": "TE-2",
            "hours": "0.75",
            "customer": setup.job,
            "casetaskevent": setup.task,
            "isbillable": "T",
            "approvalstatus": "3",
        },
    ]
    api.put(f"{RECORD}/invoice/eid:INV-1", json=invoice(setup))
    invoices = query(api, "SELECT id, type, tranid, total FROM transaction WHERE type = 'CustInvc'")
    assert [r["tranid"] for r in invoices.json()["items"]] == ["INV00001"]
    not_a_table = query(api, "SELECT id FROM invoice")
    assert not_a_table.status_code == 400
    no_sublists = query(api, "SELECT item FROM transaction")
    assert no_sublists.status_code == 400


def test_a_client_within_the_limit_is_never_refused(
    api: httpx.Client, setup: Setup, state: NetSuiteState
) -> None:
    state.concurrency_limit = 1
    for _ in range(40):
        assert api.get(f"{RECORD}/projectTask/{setup.task}").status_code == 200
    assert state.rejected_over_limit == 0
