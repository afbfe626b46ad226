"""Contract tests of the Salesforce sandbox: SOQL language, then the REST API over real HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from interlock.sandbox.faults import Faults
from interlock.sandbox.firm import generate_firm
from interlock.sandbox.salesforce import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SalesforceState,
    create_app,
    seed_from_firm,
)
from interlock.sandbox.salesforce.ids import normalize_id
from interlock.sandbox.salesforce.query import bind
from interlock.sandbox.salesforce.soql import (
    Comparison,
    Condition,
    Literal,
    Logical,
    Not,
    SoqlError,
    parse,
)
from interlock.sandbox.server import SandboxServer

API = "/services/data/v62.0"
NOON = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)

# -- SOQL: parser ----------------------------------------------------------------------------


def test_parser_reads_fields_conditions_order_and_limit() -> None:
    query = parse(
        "select Id, name FROM Opportunity WHERE (StageName = 'Closed Won' OR Amount >= 10.5) "
        "AND AccountId NOT IN ('a', 'b') ORDER BY SystemModstamp ASC, Id DESC LIMIT 5"
    )
    assert [f.name for f in query.fields] == ["Id", "name"]
    assert query.sobject.name == "Opportunity"
    assert isinstance(query.where, Logical)
    assert query.where.op == "AND"
    inner, not_in = query.where.terms
    assert isinstance(inner, Logical)
    assert inner.op == "OR"
    assert isinstance(not_in, Comparison)
    assert not_in.op == "NOT IN"
    assert [(o.field.name, o.descending, o.nulls_last) for o in query.order_by] == [
        ("SystemModstamp", False, False),
        ("Id", True, True),
    ]
    assert query.limit == 5


def literal(condition: Condition) -> object:
    assert isinstance(condition, Comparison)
    assert isinstance(condition.value, Literal)
    return condition.value.value


def test_parser_decodes_literals() -> None:
    query = parse(
        "SELECT Id FROM Account WHERE NOT Name = 'O\\'Brien \\\\ Co\\n' AND CreatedDate > "
        "2024-01-31T10:00:00.250+01:00 AND CloseDate = 2024-02-29 AND IsDeleted = false"
    )
    assert isinstance(query.where, Logical)
    negated, stamp, day, flag = query.where.terms
    assert isinstance(negated, Not)
    assert literal(negated.term) == "O'Brien \\ Co\n"
    assert literal(stamp) == dt.datetime(2024, 1, 31, 9, 0, 0, 250_000, tzinfo=dt.UTC)
    assert literal(day) == dt.date(2024, 2, 29)
    assert literal(flag) is False


def test_count_query_has_no_fields() -> None:
    query = parse("SELECT COUNT() FROM Account")
    assert query.count
    assert query.fields == ()


@pytest.mark.parametrize(
    ("soql", "where"),
    [
        ("SELECT Id FROM Account WHERE Name = 'a' AND Type = 'b' OR Industry = 'c'", "'OR'"),
        ("SELECT Id FROM Account WHERE Name = 'unterminated", "unterminated"),
        ("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01T00:00:00.000+0000", "Column:44"),
        ("SELECT Id FROM Account WHERE Name = 'a' LIMIT -1", "'-1'"),
        ("SELECT Id, FROM Account", "'FROM'"),
        ("SELECT Id FROM Account WHERE Name ~ 'a'", "'~'"),
        ("SELECT COUNT(), Id FROM Account", "','"),
        ("SELECT Id FROM Account WHERE Name = 'bad \\q escape'", "escape"),
    ],
)
def test_parser_refuses_malformed_queries(soql: str, where: str) -> None:
    with pytest.raises(SoqlError) as caught:
        parse(soql)
    assert caught.value.code == "MALFORMED_QUERY"
    assert where in caught.value.message


@pytest.mark.parametrize(
    ("soql", "code", "words"),
    [
        ("SELECT Id FROM Acount", "INVALID_TYPE", "sObject type 'Acount' is not supported"),
        (
            "SELECT Id, Nme FROM Account",
            "INVALID_FIELD",
            "No such column 'Nme' on entity 'Account'",
        ),
        ("SELECT Id FROM Opportunity ORDER BY Nope", "INVALID_FIELD", "'Nope'"),
        (
            "SELECT Id FROM Opportunity WHERE Amount = '5'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type currency",
        ),
        (
            "SELECT Id FROM Opportunity WHERE Name = 5",
            "INVALID_QUERY_FILTER_OPERATOR",
            "should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Opportunity WHERE Id = 'not-an-id'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field",
        ),
        ("SELECT Id, Id FROM Account", "MALFORMED_QUERY", "duplicate field selected: Id"),
    ],
)
def test_binding_refuses_unknown_names_and_mistyped_values(
    soql: str, code: str, words: str
) -> None:
    with pytest.raises(SoqlError) as caught:
        bind(parse(soql))
    assert caught.value.code == code
    assert words in caught.value.message


ROWS: list[dict[str, Any]] = [
    {
        "Id": "001Dn0000000001IAA",
        "Name": "Acme",
        "Type": "Customer",
        "Industry": None,
        "SystemModstamp": "2026-11-26T12:00:00.100+0000",
    },
    {
        "Id": "001Dn0000000002IAA",
        "Name": "acme corp",
        "Type": None,
        "Industry": "Retail",
        "SystemModstamp": "2026-11-26T12:00:00.700+0000",
    },
    {
        "Id": "001Dn0000000003IAA",
        "Name": "Bluefield 100%",
        "Type": "Partner",
        "Industry": "Banking",
        "SystemModstamp": "2026-11-26T12:00:01.000+0000",
    },
]


def names(soql: str) -> list[str]:
    return [str(r["Name"]) for r in bind(parse(soql)).run(ROWS)]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'ACME'", ["Acme"]),
        ("Name LIKE 'acme%'", ["Acme", "acme corp"]),
        ("Name LIKE '%100\\%'", ["Bluefield 100%"]),
        ("Type = null", ["acme corp"]),
        ("Type != 'Customer'", ["acme corp", "Bluefield 100%"]),
        ("Type IN ('customer', 'partner')", ["Acme", "Bluefield 100%"]),
        ("Type NOT IN ('Customer')", ["acme corp", "Bluefield 100%"]),
        ("Industry > 'C'", ["acme corp"]),
        ("NOT (Type = 'Customer' OR Industry = 'Retail')", ["Bluefield 100%"]),
        ("Id = '001Dn0000000002'", ["acme corp"]),
    ],
)
def test_conditions_follow_soql_semantics(where: str, expected: list[str]) -> None:
    assert names(f"SELECT Name FROM Account WHERE {where}") == expected


def test_datetime_filters_compare_whole_seconds_but_sorting_keeps_milliseconds() -> None:
    after_first = "SystemModstamp > 2026-11-26T12:00:00.100Z"
    assert names(f"SELECT Name FROM Account WHERE {after_first}") == ["Bluefield 100%"]
    same_second = "SystemModstamp >= 2026-11-26T12:00:00Z ORDER BY SystemModstamp DESC"
    assert names(f"SELECT Name FROM Account WHERE {same_second}") == [
        "Bluefield 100%",
        "acme corp",
        "Acme",
    ]


def test_order_by_puts_nulls_first_ascending_and_last_descending() -> None:
    assert names("SELECT Name FROM Account ORDER BY Type") == [
        "acme corp",
        "Acme",
        "Bluefield 100%",
    ]
    assert names("SELECT Name FROM Account ORDER BY Type DESC LIMIT 2") == [
        "Bluefield 100%",
        "Acme",
    ]
    assert names("SELECT Name FROM Account ORDER BY Type ASC NULLS LAST") == [
        "Acme",
        "Bluefield 100%",
        "acme corp",
    ]


def test_ids_accept_the_15_character_form_and_any_case_of_the_18() -> None:
    full = "001Dn0000000003IAA"
    assert normalize_id(full[:15]) == full
    assert normalize_id(full.lower()) == full
    assert normalize_id("001Dn0000000003999") is None
    assert normalize_id("001Dn00000000") is None


# -- REST API over HTTP ----------------------------------------------------------------------


class Org:
    """A logged-in HTTP client of a running sandbox."""

    def __init__(self, base_url: str, state: SalesforceState, faults: Faults) -> None:
        self.http = httpx.Client(base_url=base_url)
        self.state = state
        self.faults = faults
        self.token = self.login()

    def login(self) -> str:
        response = self.http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(
            method, path if path.startswith("/services") else API + path, headers=headers, **kwargs
        )

    def query(self, soql: str, resource: str = "query") -> httpx.Response:
        return self.call("GET", f"/{resource}", params={"q": soql})


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[SandboxServer, Starlette, Faults]]:
    faults = Faults()
    app = create_app(faults=faults)
    with SandboxServer(app) as running:
        yield running, app, faults


@pytest.fixture
def state() -> SalesforceState:
    # A pinned clock: every write lands in one second; stamps move only by the 1 ms bump.
    return SalesforceState(page_size=3, clock=lambda: NOON)


@pytest.fixture
def org(server: tuple[SandboxServer, Starlette, Faults], state: SalesforceState) -> Iterator[Org]:
    running, app, faults = server
    app.state.sandbox = state  # a fresh org per test behind the one running server
    faults.clear()
    client = Org(running.base_url, state, faults)
    yield client
    client.http.close()


def stored(state: SalesforceState, sobject: str, record_id: str) -> dict[str, Any]:
    record = state.get(sobject, record_id)
    assert record is not None
    return record


def new_account(org: Org, **fields: Any) -> str:
    response = org.call("POST", "/sobjects/Account/", json={"Name": "Acme", **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_token_response_has_the_documented_fields_and_a_valid_signature(org: Org) -> None:
    basic = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
    response = org.http.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
    }
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == str(org.http.base_url).rstrip("/")
    assert body["issued_at"].isdigit()
    assert len(body["issued_at"]) == 13
    expected = hmac.new(
        DEMO_CLIENT_SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
    ).digest()
    assert base64.b64decode(body["signature"]) == expected
    assert "sforce-limit-info" not in response.headers
    assert org.state.api_usage == 0  # token requests are free


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {
                "grant_type": "client_credentials",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": "wrong",
            },
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
            "invalid_client",
        ),
        (
            {
                "grant_type": "password",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            },
            "unsupported_grant_type",
        ),
    ],
)
def test_token_endpoint_refuses_bad_requests_with_oauth_errors(
    org: Org, form: dict[str, str], error: str
) -> None:
    response = org.http.post("/services/oauth2/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert "error_description" in response.json()


def test_requests_without_a_live_session_get_invalid_session_id(org: Org) -> None:
    assert (
        org.call(
            "GET", "/sobjects/Account/001Dn0000000001IAA", headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    org.state.expire_tokens()
    response = org.query("SELECT Id FROM Account")
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    org.token = org.login()
    assert org.query("SELECT Id FROM Account").status_code == 200


def test_every_api_response_counts_and_reports_usage_until_the_budget_is_spent(org: Org) -> None:
    org.state.api_limit = 2
    first = org.query("SELECT Id FROM Account")
    second = org.query("SELECT Id FROM Nope")
    third = org.query("SELECT Id FROM Account")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/2"
    assert second.status_code == 400
    assert second.headers["Sforce-Limit-Info"] == "api-usage=2/2"
    assert third.status_code == 403
    assert third.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert third.headers["Sforce-Limit-Info"] == "api-usage=2/2"


def test_create_answers_201_with_id_and_location_and_stores_system_fields(org: Org) -> None:
    response = org.call("POST", "/sobjects/Account/", json={"Name": "Acme", "Hub_Id__c": "C-1"})
    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "success": True, "errors": []}
    assert body["id"].startswith("001")
    assert len(body["id"]) == 18
    assert response.headers["Location"] == f"{API}/sobjects/Account/{body['id']}"
    record = org.call("GET", f"/sobjects/Account/{body['id']}").json()
    assert record["attributes"] == {
        "type": "Account",
        "url": f"{API}/sobjects/Account/{body['id']}",
    }
    assert record["IsDeleted"] is False
    assert record["CreatedDate"] == record["SystemModstamp"] == "2026-11-26T12:00:00.000+0000"


def test_records_of_each_type_get_their_key_prefix(org: Org) -> None:
    account = new_account(org)
    opp = org.call(
        "POST",
        "/sobjects/Opportunity/",
        json={
            "Name": "Deal",
            "StageName": "Prospecting",
            "CloseDate": "2026-12-31",
            "AccountId": account,
        },
    ).json()["id"]
    line = org.call(
        "POST", "/sobjects/SOW_Line__c/", json={"Name": "L1", "Opportunity__c": opp, "Hours__c": 10}
    ).json()["id"]
    assert (account[:3], opp[:3], line[:3]) == ("001", "006", "a0X")


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        ({"Name": "A", "Id": "001Dn0000000001IAA"}, 400, "INVALID_FIELD", ["Id"]),
        ({"Name": "A", "Colour__c": "red"}, 400, "INVALID_FIELD", ["Colour__c"]),
        ({"Type": "Customer"}, 400, "REQUIRED_FIELD_MISSING", ["Name"]),
        (
            {"Name": "A", "SystemModstamp": "2026-01-01T00:00:00Z"},
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["SystemModstamp"],
        ),
        ({"Name": "A" * 256}, 400, "STRING_TOO_LONG", ["Name"]),
    ],
)
def test_create_refuses_invalid_bodies_with_an_error_array(
    org: Org, body: dict[str, Any], status: int, code: str, fields: list[str]
) -> None:
    response = org.call("POST", "/sobjects/Account/", json=body)
    assert response.status_code == status
    [error] = response.json()
    assert error["errorCode"] == code
    assert error["fields"] == fields
    assert error["message"]
    assert org.state.records("Account") == []


def test_opportunity_requires_name_stage_and_close_date(org: Org) -> None:
    response = org.call("POST", "/sobjects/Opportunity/", json={"Amount": 5})
    assert response.status_code == 400
    assert response.json()[0]["fields"] == ["Name", "StageName", "CloseDate"]
    bad_date = org.call(
        "POST",
        "/sobjects/Opportunity/",
        json={"Name": "D", "StageName": "Prospecting", "CloseDate": "31/12/2026"},
    )
    assert bad_date.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_references_must_point_at_live_records_of_the_right_type(org: Org) -> None:
    body = {"Name": "D", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    wrong = org.call(
        "POST", "/sobjects/Opportunity/", json={**body, "AccountId": "001Dn00000000ZZIAA"}
    )
    assert wrong.json()[0]["errorCode"] in ("INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID")
    assert wrong.status_code == 400


def test_patch_answers_204_and_moves_system_modstamp(org: Org) -> None:
    account = new_account(org)
    before = org.state.get("Account", account)
    response = org.call("PATCH", f"/sobjects/Account/{account}", json={"Industry": "Retail"})
    assert response.status_code == 204
    assert response.content == b""
    after = org.state.get("Account", account)
    assert before is not None
    assert after is not None
    assert after["Industry"] == "Retail"
    assert after["CreatedDate"] == before["CreatedDate"]
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert after["LastModifiedDate"] == after["SystemModstamp"]


def test_stage_changes_derive_won_closed_probability_and_stage_change_date(org: Org) -> None:
    opp = org.state.create(
        "Opportunity", {"Name": "D", "StageName": "Negotiation/Review", "CloseDate": "2026-12-31"}
    )
    created = org.state.get("Opportunity", opp)
    assert created is not None
    assert (created["IsWon"], created["IsClosed"], created["Probability"]) == (False, False, 90.0)
    org.state.update("Opportunity", opp, {"Description": "no stage change"})
    unchanged = stored(org.state, "Opportunity", opp)
    assert unchanged["LastStageChangeDate"] == created["LastStageChangeDate"]
    org.state.win(opp)
    won = org.call("GET", f"/sobjects/Opportunity/{opp}").json()
    assert (won["StageName"], won["IsWon"], won["IsClosed"]) == ("Closed Won", True, True)
    assert won["LastStageChangeDate"] == won["SystemModstamp"]
    assert won["Probability"] == 100.0
    org.call("PATCH", f"/sobjects/Opportunity/{opp}", json={"StageName": "Closed Lost"})
    lost = org.call("GET", f"/sobjects/Opportunity/{opp}?fields=IsWon,IsClosed").json()
    assert {k: lost[k] for k in ("IsWon", "IsClosed")} == {"IsWon": False, "IsClosed": True}
    assert set(lost) == {"attributes", "IsWon", "IsClosed"}


def test_system_modstamps_strictly_increase_even_within_one_millisecond(org: Org) -> None:
    ids = [new_account(org, Name=f"A{i}") for i in range(5)]
    org.state.update("Account", ids[0], {"Type": "Customer"})
    stamps = [r["SystemModstamp"] for r in org.state.records("Account")]
    assert len(set(stamps)) == 5
    assert stamps[0] == "2026-11-26T12:00:00.005+0000"  # the update came last
    assert stamps[1:] == [f"2026-11-26T12:00:00.00{i}+0000" for i in range(1, 5)]


def test_delete_keeps_a_tombstone_for_query_all_and_cascades_to_sow_lines(org: Org) -> None:
    opp = org.state.create(
        "Opportunity", {"Name": "D", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )
    line = org.state.create("SOW_Line__c", {"Name": "L", "Opportunity__c": opp})
    assert org.call("DELETE", f"/sobjects/Opportunity/{opp}").status_code == 204
    assert org.call("GET", f"/sobjects/Opportunity/{opp}").status_code == 404
    assert org.call("DELETE", f"/sobjects/Opportunity/{opp}").json()[0]["errorCode"] == (
        "ENTITY_IS_DELETED"
    )
    assert org.query("SELECT Id FROM Opportunity").json()["totalSize"] == 0
    everything = org.query("SELECT Id, IsDeleted FROM Opportunity", "queryAll").json()
    assert [(r["Id"], r["IsDeleted"]) for r in everything["records"]] == [(opp, True)]
    assert stored(org.state, "SOW_Line__c", line)["IsDeleted"] is True


def test_upsert_by_external_id_creates_then_updates(org: Org) -> None:
    path = "/sobjects/Account/Hub_Id__c/CUST-9"
    created = org.call("PATCH", path, json={"Name": "Acme"})
    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "success": True,
        "errors": [],
        "created": True,
    }
    updated = org.call("PATCH", path, json={"Name": "Acme Ltd"})
    assert updated.status_code == 200
    assert updated.json()["created"] is False
    assert updated.json()["id"] == created.json()["id"]
    [account] = org.state.records("Account")
    assert (account["Name"], account["Hub_Id__c"]) == ("Acme Ltd", "CUST-9")
    assert org.call("GET", path).json()["Id"] == account["Id"]


def test_upsert_on_duplicates_answers_300_and_on_unknown_field_404(org: Org) -> None:
    first, second = new_account(org, Hub_Id__c="DUP"), new_account(org, Hub_Id__c="dup")
    several = org.call("PATCH", "/sobjects/Account/Hub_Id__c/DUP", json={"Name": "X"})
    assert several.status_code == 300
    assert several.json() == [f"{API}/sobjects/Account/{first}", f"{API}/sobjects/Account/{second}"]
    unknown = org.call("PATCH", "/sobjects/Account/Name/Acme", json={"Type": "Customer"})
    assert unknown.status_code == 404
    assert unknown.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_query_pages_through_a_snapshot_taken_at_query_time(org: Org) -> None:
    for i in range(7):
        new_account(org, Name=f"A{i}")
    first = org.query("SELECT Name FROM Account ORDER BY Name DESC").json()
    assert (first["totalSize"], first["done"]) == (7, False)
    assert [r["Name"] for r in first["records"]] == ["A6", "A5", "A4"]
    assert first["records"][0]["attributes"]["type"] == "Account"
    assert set(first["records"][0]) == {"attributes", "Name"}
    url = first["nextRecordsUrl"]
    assert url.startswith(f"{API}/query/01g")
    assert url.endswith("-3")
    new_account(org, Name="A7")  # after the query: not in its snapshot
    second = org.call("GET", url).json()
    third = org.call("GET", second["nextRecordsUrl"]).json()
    assert [r["Name"] for r in second["records"] + third["records"]] == ["A3", "A2", "A1", "A0"]
    assert third["done"] is True
    assert "nextRecordsUrl" not in third
    assert org.call("GET", f"{API}/query/01gnope-3").json()[0]["errorCode"] == (
        "INVALID_QUERY_LOCATOR"
    )


def test_query_limit_count_and_errors(org: Org) -> None:
    for i in range(4):
        new_account(org, Name=f"A{i}")
    limited = org.query("SELECT Id FROM Account LIMIT 2").json()
    assert (limited["totalSize"], limited["done"], len(limited["records"])) == (2, True, 2)
    assert org.query("SELECT COUNT() FROM Account").json() == {
        "totalSize": 4,
        "done": True,
        "records": [],
    }
    bad = org.query("SELECT Id FROM Account WHERE")
    assert bad.status_code == 400
    assert bad.json()[0]["errorCode"] == "MALFORMED_QUERY"
    unknown = org.query("SELECT Id FROM Invoice__c")
    assert unknown.status_code == 400
    assert unknown.json()[0]["errorCode"] == "INVALID_TYPE"


def test_unknown_paths_versions_and_methods_answer_salesforce_errors(org: Org) -> None:
    assert org.call("GET", "/services/data/vlatest/query?q=x").status_code == 404
    assert org.call("GET", "/sobjects/Account/001Dn0000000099IAA").json()[0]["errorCode"] == (
        "NOT_FOUND"
    )
    assert org.call("GET", "/sobjects/Invoice__c/001Dn0000000099IAA").status_code == 404
    put = org.call("PUT", "/sobjects/Account/001Dn0000000099IAA", json={})
    assert put.status_code == 405
    assert put.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    broken = org.call(
        "POST", "/sobjects/Account/", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "SERVER_UNAVAILABLE"), (500, "UNKNOWN_EXCEPTION"), (429, "REQUEST_LIMIT_EXCEEDED")],
)
def test_injected_faults_use_the_salesforce_error_shape(org: Org, status: int, code: str) -> None:
    org.faults.fail_next(status)
    response = org.query("SELECT Id FROM Account")
    assert response.status_code == status
    [error] = response.json()
    assert error["errorCode"] == code
    assert error["message"]
    assert org.query("SELECT Id FROM Account").status_code == 200


def test_admin_endpoint_lists_records_with_tombstones(org: Org) -> None:
    keep, gone = new_account(org, Name="Keep"), new_account(org, Name="Gone")
    org.state.delete("Account", gone)
    response = org.http.get("/__admin/records/account")
    assert response.status_code == 200
    assert [(r["Id"], r["IsDeleted"]) for r in response.json()] == [(keep, False), (gone, True)]
    assert org.http.get("/__admin/records/Nope").status_code == 404


def test_seed_from_firm_creates_accounts_open_deals_and_sow_lines_with_their_defects() -> None:
    firm = generate_firm(seed=7, deals=60)  # enough bad deals for every kind of defect
    state = SalesforceState()
    deals = seed_from_firm(state, firm)
    assert set(deals) == {d.key for d in firm.deals}
    accounts = {a["Hub_Id__c"]: a for a in state.records("Account")}
    assert set(accounts) == {c.id for c in firm.customers}
    lines = state.records("SOW_Line__c")
    assert len(lines) == sum(len(d.lines) for d in firm.deals)
    for deal in firm.deals:
        opp = state.get("Opportunity", deals[deal.key])
        assert opp is not None
        assert (opp["StageName"], opp["IsWon"]) == ("Negotiation/Review", False)
        assert opp["CurrencyIsoCode"] == deal.currency
        assert opp["Contract_End__c"] == (deal.end_date.isoformat() if deal.end_date else None)
        expected_account = accounts[deal.customer_id]["Id"] if deal.customer_id else None
        assert opp["AccountId"] == expected_account
        own = [ln for ln in lines if ln["Opportunity__c"] == opp["Id"]]
        assert [ln["Hours__c"] for ln in own] == [float(ln.hours) for ln in deal.lines]
    defects = {d.defect for d in firm.deals if d.defect}
    assert {"unknown currency", "no customer account"} <= defects
