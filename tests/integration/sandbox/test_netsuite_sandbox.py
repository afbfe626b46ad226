"""Contract tests of the NetSuite sandbox over real HTTP: status codes, headers, bodies."""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from interlock.connectors.netsuite.auth import TbaSigner, sign_jwt
from interlock.connectors.netsuite.config import NetSuiteConfig
from interlock.sandbox.faults import Faults
from interlock.sandbox.firm import generate_firm
from interlock.sandbox.netsuite import NetSuiteState, create_app, seed_from_firm
from interlock.sandbox.netsuite.auth import base_string
from interlock.sandbox.server import SandboxServer

RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
TOKEN = "/services/rest/auth/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
BEARER = "sandbox-test-token"
TRANSIENT = {"Prefer": "transient"}


class Clock:
    """A settable UTC clock for record timestamps."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> NetSuiteState:
    state = NetSuiteState(clock=clock)
    state.issue_token(BEARER)
    return state


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def server(state: NetSuiteState, faults: Faults) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(state, faults)) as server:
        yield server


@pytest.fixture
def api(server: SandboxServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {BEARER}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client:
        yield client


def new_customer(api: httpx.Client, name: str, **extra: Any) -> str:
    body = {"companyName": name, "subsidiary": {"id": "1"}, **extra}
    response = api.post(f"{RECORD}/customer", json=body)
    assert response.status_code == 204, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"type", "title", "status", "o:errorDetails"}
    assert body["status"] == response.status_code
    detail: dict[str, Any] = body["o:errorDetails"][0]
    return detail


# -- records ---------------------------------------------------------------------------------


def test_create_answers_204_with_location_and_no_body(
    api: httpx.Client, server: SandboxServer
) -> None:
    response = api.post(
        f"{RECORD}/customer",
        json={"companyName": "Acme Corp", "subsidiary": {"id": "1"}, "externalId": "SF-001"},
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["Location"] == f"{server.base_url}{RECORD}/customer/1"


def test_get_expands_references_and_links(api: httpx.Client, server: SandboxServer) -> None:
    customer_id = new_customer(api, "Acme Corp", currency={"id": "2"}, email="ap@acme.test")
    body = api.get(f"{RECORD}/customer/{customer_id}").json()
    assert body["links"] == [
        {"rel": "self", "href": f"{server.base_url}{RECORD}/customer/{customer_id}"}
    ]
    assert body["subsidiary"] == {
        "id": "1",
        "refName": "Halcyon Partners Inc.",
        "links": [{"rel": "self", "href": f"{server.base_url}{RECORD}/subsidiary/1"}],
    }
    assert body["currency"]["refName"] == "Euro"
    assert body["companyName"] == "Acme Corp"
    assert body["entityId"] == "Acme Corp"
    assert body["lastModifiedDate"] == "2026-03-02T09:00:00Z"


def test_field_names_are_accepted_in_lower_case(api: httpx.Client) -> None:
    response = api.post(
        f"{RECORD}/customer", json={"companyname": "Lower Co", "subsidiary": {"id": "1"}}
    )
    assert response.status_code == 204
    assert api.get(response.headers["Location"]).json()["companyName"] == "Lower Co"


def test_patch_changes_only_given_fields_and_null_clears(api: httpx.Client, clock: Clock) -> None:
    customer_id = new_customer(api, "Acme Corp", email="ap@acme.test", phone="555")
    clock.advance(61)
    response = api.patch(f"{RECORD}/customer/{customer_id}", json={"email": None, "phone": "777"})
    assert response.status_code == 204
    body = api.get(f"{RECORD}/customer/{customer_id}").json()
    assert "email" not in body
    assert body["phone"] == "777"
    assert body["companyName"] == "Acme Corp"
    assert body["lastModifiedDate"] == "2026-03-02T09:01:01Z"
    assert body["dateCreated"] == "2026-03-02T09:00:00Z"


def test_delete_answers_204_then_the_record_is_gone(api: httpx.Client) -> None:
    customer_id = new_customer(api, "Short Lived")
    assert api.delete(f"{RECORD}/customer/{customer_id}").status_code == 204
    response = api.get(f"{RECORD}/customer/{customer_id}")
    assert response.status_code == 404
    assert error_of(response)["o:errorCode"] == "NONEXISTENT_ID"


def test_put_by_external_id_creates_then_updates_one_record(
    api: httpx.Client, state: NetSuiteState, server: SandboxServer
) -> None:
    body = {"companyName": "Upsert Co", "subsidiary": {"id": "1"}}
    first = api.put(f"{RECORD}/customer/eid:CID-1", json=body)
    second = api.put(f"{RECORD}/customer/eid:CID-1", json={**body, "companyName": "Renamed"})
    assert first.status_code == second.status_code == 204
    assert first.headers["Location"] == second.headers["Location"]
    assert second.headers["Location"] == f"{server.base_url}{RECORD}/customer/1"
    records = state.records("customer")
    assert [(r["externalId"], r["companyName"]) for r in records] == [("CID-1", "Renamed")]
    assert api.get(f"{RECORD}/customer/eid:CID-1").json()["id"] == "1"


def test_put_without_external_id_is_refused(api: httpx.Client) -> None:
    customer_id = new_customer(api, "Acme")
    response = api.put(f"{RECORD}/customer/{customer_id}", json={"companyName": "X"})
    assert response.status_code == 405


def test_unknown_external_id_is_404(api: httpx.Client) -> None:
    response = api.get(f"{RECORD}/customer/eid:NOPE")
    assert response.status_code == 404
    assert error_of(response)["o:errorCode"] == "NONEXISTENT_ID"


@pytest.mark.parametrize(
    ("body", "code", "path"),
    [
        (
            {"companyName": "X", "subsidiary": {"id": "1"}, "colour": "red"},
            "INVALID_CONTENT",
            "colour",
        ),
        ({"subsidiary": {"id": "1"}}, "USER_ERROR", "companyName"),
        ({"companyName": "X"}, "USER_ERROR", "subsidiary"),
        ({"companyName": "X", "subsidiary": {"id": "99"}}, "INVALID_KEY_OR_REF", "subsidiary"),
        (
            {"companyName": "X", "subsidiary": {"id": "1"}, "currency": {"id": "77"}},
            "INVALID_KEY_OR_REF",
            "currency",
        ),
        ({"companyName": 42, "subsidiary": {"id": "1"}}, "INVALID_CONTENT", "companyName"),
        ({"companyName": "X", "subsidiary": {"id": "1"}, "id": "5"}, "INVALID_CONTENT", "id"),
        (
            {"companyName": "X", "subsidiary": {"id": "1"}, "externalId": "a b"},
            "INVALID_CONTENT",
            "externalId",
        ),
    ],
)
def test_invalid_customer_bodies_are_refused_naming_the_field(
    api: httpx.Client, state: NetSuiteState, body: dict[str, Any], code: str, path: str
) -> None:
    response = api.post(f"{RECORD}/customer", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/vnd.oracle.resource+json")
    detail = error_of(response)
    assert (detail["o:errorCode"], detail["o:errorPath"]) == (code, path)
    assert state.records("customer") == []


def test_job_needs_an_existing_parent_customer(api: httpx.Client) -> None:
    missing = api.post(f"{RECORD}/job", json={"companyName": "Orphan"})
    assert error_of(missing)["o:errorPath"] == "parent"
    wrong = api.post(f"{RECORD}/job", json={"companyName": "Orphan", "parent": {"id": "9"}})
    assert error_of(wrong)["o:errorCode"] == "INVALID_KEY_OR_REF"


def test_job_renders_enums_and_inherits_from_its_customer(api: httpx.Client) -> None:
    customer_id = new_customer(api, "Acme", currency={"id": "3"})
    response = api.put(
        f"{RECORD}/job/eid:PRJ-1",
        json={
            "companyName": "ERP Rollout",
            "parent": {"id": customer_id},
            "startDate": "2026-04-01",
            "projectedEndDate": "2026-09-30",
            "jobBillingType": {"id": "4"},
        },
    )
    assert response.status_code == 204
    job = api.get(f"{RECORD}/job/eid:PRJ-1").json()
    assert job["jobBillingType"] == {"id": "4", "refName": "Time and Materials"}
    assert job["parent"]["refName"] == "Acme"
    assert job["currency"]["id"] == "3"
    assert job["startDate"] == "2026-04-01"
    simple = api.get(f"{RECORD}/job/eid:PRJ-1", params={"simpleEnumFormat": "true"}).json()
    assert simple["jobBillingType"] == "4"


def test_duplicate_external_id_on_create_is_refused(api: httpx.Client) -> None:
    new_customer(api, "One", externalId="DUP")
    response = api.post(
        f"{RECORD}/customer",
        json={"companyName": "Two", "subsidiary": {"id": "1"}, "externalId": "DUP"},
    )
    assert response.status_code == 400
    assert error_of(response)["o:errorPath"] == "externalId"


def test_unknown_record_type_is_404(api: httpx.Client) -> None:
    assert api.get(f"{RECORD}/spaceship/1").status_code == 404


def test_currencies_and_subsidiary_are_preseeded(api: httpx.Client) -> None:
    assert api.get(f"{RECORD}/subsidiary/1").json()["name"] == "Halcyon Partners Inc."
    codes = {api.get(f"{RECORD}/currency/{i}").json()["symbol"] for i in range(1, 6)}
    assert codes == {"USD", "EUR", "GBP", "CAD", "SGD"}


# -- collections -----------------------------------------------------------------------------


def test_collection_pages_with_limit_offset_and_links(
    api: httpx.Client, server: SandboxServer
) -> None:
    for i in range(5):
        new_customer(api, f"Customer {i}")
    body = api.get(f"{RECORD}/customer", params={"limit": 2, "offset": 2}).json()
    assert (body["count"], body["hasMore"], body["offset"], body["totalResults"]) == (2, True, 2, 5)
    assert [item["id"] for item in body["items"]] == ["3", "4"]
    assert set(body["items"][0]) == {"id", "links"}
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert links["next"] == f"{server.base_url}{RECORD}/customer?limit=2&offset=4"
    assert links["self"] == f"{server.base_url}{RECORD}/customer?limit=2&offset=2"
    last = api.get(links["next"]).json()
    assert (last["count"], last["hasMore"]) == (1, False)
    assert "next" not in {link["rel"] for link in last["links"]}


def test_collection_limit_above_1000_is_refused(api: httpx.Client) -> None:
    response = api.get(f"{RECORD}/customer", params={"limit": 1001})
    assert response.status_code == 400
    assert error_of(response)["o:errorQueryParam"] == "limit"


def ids(api: httpx.Client, q: str) -> list[str]:
    response = api.get(f"{RECORD}/customer", params={"q": q})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_q_filter_operators(api: httpx.Client, clock: Clock) -> None:
    new_customer(api, "Northwind Bank", email="a@northwind.test")  # 1
    clock.advance(3600)
    new_customer(api, "Harbor Foods", email="b@harbor.test")  # 2
    clock.advance(86400)
    new_customer(api, "Northwind Energy")  # 3
    assert ids(api, 'companyName IS "Harbor Foods"') == ["2"]
    assert ids(api, "companyName START_WITH northwind") == ["1", "3"]
    assert ids(api, "id ANY_OF [1, 3]") == ["1", "3"]
    assert ids(api, 'email CONTAIN "harbor"') == ["2"]
    assert ids(api, "email EMPTY") == ["3"]
    assert ids(api, 'lastModifiedDate AFTER "2026-03-02 09:30:00"') == ["2", "3"]
    assert ids(api, 'lastModifiedDate ON_OR_AFTER "2026-03-03"') == ["3"]
    assert ids(api, 'lastModifiedDate BEFORE "2026-03-02 10:00:00"') == ["1"]
    assert ids(api, 'companyName START_WITH "North" AND email EMPTY_NOT OR id IS 2') == ["1", "2"]
    assert ids(api, 'companyName START_WITH "North" AND (email EMPTY OR id IS 1)') == ["1", "3"]


@pytest.mark.parametrize(
    "q",
    [
        "companyName LIKE x",
        "colour IS red",
        "companyName IS",
        "(companyName IS x",
        'lastModifiedDate AFTER "yesterday"',
        "id IS 1 AND",
    ],
)
def test_bad_q_filter_is_400(api: httpx.Client, q: str) -> None:
    response = api.get(f"{RECORD}/customer", params={"q": q})
    assert response.status_code == 400
    assert error_of(response)["o:errorQueryParam"] == "q"


# -- SuiteQL ---------------------------------------------------------------------------------


def test_suiteql_requires_prefer_transient(api: httpx.Client) -> None:
    response = api.post(SUITEQL, json={"q": "SELECT id FROM customer"})
    assert response.status_code == 400
    assert error_of(response)["o:errorHeader"] == "Prefer"


def test_suiteql_rows_are_lower_case_strings_without_nulls(api: httpx.Client) -> None:
    new_customer(api, "Acme", email="ap@acme.test")
    new_customer(api, "Beta")
    response = api.post(
        SUITEQL,
        headers=TRANSIENT,
        json={
            "q": "SELECT id, companyName, email, isInactive, lastModifiedDate, "
            "TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS modified "
            "FROM customer ORDER BY companyname DESC"
        },
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert items == [
        {
            "links": [],
            "id": "2",
            "companyname": "Beta",
            "isinactive": "F",
            "lastmodifieddate": "3/2/2026",
            "modified": "2026-03-02 09:00:00",
        },
        {
            "links": [],
            "id": "1",
            "companyname": "Acme",
            "email": "ap@acme.test",
            "isinactive": "F",
            "lastmodifieddate": "3/2/2026",
            "modified": "2026-03-02 09:00:00",
        },
    ]


def test_suiteql_where_and_paging(api: httpx.Client, clock: Clock, server: SandboxServer) -> None:
    for i in range(5):
        new_customer(api, f"C{i}")
        clock.advance(10)
    query = {
        "q": "SELECT id FROM customer WHERE lastmodifieddate >= "
        "TO_TIMESTAMP('2026-03-02 09:00:10', 'YYYY-MM-DD HH24:MI:SS') "
        "AND companyname <> 'C4' ORDER BY id"
    }
    first = api.post(SUITEQL, headers=TRANSIENT, params={"limit": 2}, json=query).json()
    assert [r["id"] for r in first["items"]] == ["2", "3"]
    assert (first["hasMore"], first["totalResults"], first["count"]) == (True, 3, 2)
    links = {link["rel"]: link["href"] for link in first["links"]}
    assert links["next"] == f"{server.base_url}{SUITEQL}?limit=2&offset=2"
    second = api.post(links["next"], headers=TRANSIENT, json=query).json()
    assert [r["id"] for r in second["items"]] == ["4"]
    assert second["hasMore"] is False


def test_suiteql_in_like_null_and_or(api: httpx.Client) -> None:
    new_customer(api, "Acme", email="ap@acme.test")
    new_customer(api, "Acorn")
    new_customer(api, "Beta")
    q = (
        "SELECT id FROM customer WHERE (companyname LIKE 'Ac%' AND email IS NULL) "
        "OR id IN (3, 7) ORDER BY id"
    )
    rows = api.post(SUITEQL, headers=TRANSIENT, json={"q": q}).json()["items"]
    assert [r["id"] for r in rows] == ["2", "3"]


@pytest.mark.parametrize(
    "q",
    [
        "SELECT id FROM spaceship",
        "SELECT colour FROM customer",
        "DELETE FROM customer",
        "SELECT id FROM customer WHERE",
        "SELECT id FROM customer ORDER BY nothing",
    ],
)
def test_bad_suiteql_is_400(api: httpx.Client, q: str) -> None:
    response = api.post(SUITEQL, headers=TRANSIENT, json={"q": q})
    assert response.status_code == 400
    assert error_of(response)["o:errorCode"] == "INVALID_PARAMETER"


# -- authentication --------------------------------------------------------------------------


def test_requests_without_credentials_get_invalid_login(server: SandboxServer) -> None:
    response = httpx.get(f"{server.base_url}{RECORD}/customer")
    assert response.status_code == 401
    assert error_of(response)["o:errorCode"] == "INVALID_LOGIN"
    forged = httpx.get(
        f"{server.base_url}{RECORD}/customer", headers={"Authorization": "Bearer forged"}
    )
    assert forged.status_code == 401


def _key(alg: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _assertion(
    server: SandboxServer,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    alg: str = "PS256",
    **claims: Any,
) -> str:
    now = int(time.time())
    body = {
        "iss": "client-1",
        "scope": "restlets,rest_webservices",
        "aud": f"{server.base_url}{TOKEN}",
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    return sign_jwt({"typ": "JWT", "alg": alg, "kid": "cert-1"}, body, key)


def _token_request(server: SandboxServer, assertion: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}{TOKEN}",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


@pytest.mark.parametrize("alg", ["PS256", "RS256", "ES256"])
def test_m2m_token_from_signed_assertion_opens_the_api(
    server: SandboxServer, state: NetSuiteState, alg: str
) -> None:
    key = _key(alg)
    state.register_client("client-1", "cert-1", _public_pem(key))
    response = _token_request(server, _assertion(server, key, alg))
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("bearer", "3600")
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert httpx.get(f"{server.base_url}{RECORD}/subsidiary/1", headers=headers).status_code == 200
    state.expire_tokens()
    expired = httpx.get(f"{server.base_url}{RECORD}/subsidiary/1", headers=headers)
    assert expired.status_code == 401
    assert error_of(expired)["o:errorCode"] == "INVALID_LOGIN"


def test_a_manual_es256_signature_verifies(server: SandboxServer, state: NetSuiteState) -> None:
    # Built here from raw r||s, independent of the connector's JWT code.
    key = ec.generate_private_key(ec.SECP256R1())
    state.register_client("client-1", "cert-1", _public_pem(key))

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    signing_input = ".".join(
        (
            b64(orjson.dumps({"alg": "ES256", "kid": "cert-1", "typ": "JWT"})),
            b64(
                orjson.dumps(
                    {
                        "iss": "client-1",
                        "scope": ["rest_webservices"],
                        "iat": now,
                        "exp": now + 300,
                        "aud": f"{server.base_url}{TOKEN}",
                    }
                )
            ),
        )
    )
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    jwt = f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    assert _token_request(server, jwt).status_code == 200


def test_m2m_assertion_checks(server: SandboxServer, state: NetSuiteState) -> None:
    key, other = _key("PS256"), _key("PS256")
    state.register_client("client-1", "cert-1", _public_pem(key))
    now = int(time.time())
    cases = [
        (_assertion(server, other), 401, "invalid_client"),
        (_assertion(server, key, iss="client-2"), 401, "invalid_client"),
        (_assertion(server, key, aud="https://elsewhere.test/token"), 400, "invalid_grant"),
        (_assertion(server, key, exp=now + 3700), 400, "invalid_grant"),
        (_assertion(server, key, iat=now - 700, exp=now - 100), 400, "invalid_grant"),
        (_assertion(server, key, scope="restlets"), 400, "invalid_scope"),
        ("not-a-jwt", 401, "invalid_client"),
    ]
    for assertion, status, error in cases:
        response = _token_request(server, assertion)
        assert (response.status_code, response.json()["error"]) == (status, error)
    rs_signed = sign_jwt(
        {"alg": "RS256", "kid": "cert-1"},
        {
            "iss": "client-1",
            "aud": f"{server.base_url}{TOKEN}",
            "scope": "rest_webservices",
            "iat": now,
            "exp": now + 60,
        },
        key,
    )
    tampered = rs_signed[:-4] + "AAAA"
    assert _token_request(server, tampered).json()["error"] == "invalid_client"
    wrong_grant = httpx.post(f"{server.base_url}{TOKEN}", data={"grant_type": "password"})
    assert wrong_grant.json()["error"] == "unsupported_grant_type"


def _tba_config(**overrides: str) -> NetSuiteConfig:
    values = {
        "base_url": "http://127.0.0.1",
        "account_id": "1234567_SB1",
        "auth_method": "tba",
        "consumer_key": "ck",
        "consumer_secret": "cs",
        "token_id": "tid",
        "token_secret": "ts",
        **overrides,
    }
    return NetSuiteConfig.model_validate(values)


def test_tba_signed_requests_pass_and_nonce_replay_is_refused(
    server: SandboxServer, state: NetSuiteState
) -> None:
    state.register_tba("ck", "cs", "tid", "ts")
    signer = TbaSigner(_tba_config())
    url = httpx.URL(f"{server.base_url}{RECORD}/subsidiary?limit=1&offset=0")
    header = signer.header("GET", url, nonce="nonce-1")
    first = httpx.get(url, headers={"Authorization": header})
    assert first.status_code == 200
    assert first.json()["count"] == 1
    replay = httpx.get(url, headers={"Authorization": header})
    assert replay.status_code == 401
    assert error_of(replay)["o:errorCode"] == "INVALID_LOGIN"


def test_tba_signature_covers_method_query_realm_and_secrets(
    server: SandboxServer, state: NetSuiteState
) -> None:
    state.register_tba("ck", "cs", "tid", "ts")
    url = httpx.URL(f"{server.base_url}{RECORD}/subsidiary?limit=1")
    signer = TbaSigner(_tba_config())
    tampered_query = httpx.get(
        url.copy_set_param("limit", "2"), headers={"Authorization": signer.header("GET", url)}
    )
    other_method = httpx.delete(
        f"{server.base_url}{RECORD}/subsidiary/1",
        headers={
            "Authorization": signer.header(
                "GET", httpx.URL(f"{server.base_url}{RECORD}/subsidiary/1")
            )
        },
    )
    wrong_secret = TbaSigner(_tba_config(token_secret="guess")).header("GET", url)
    wrong_realm = TbaSigner(_tba_config(account_id="7654321")).header("GET", url)
    stale = signer.header("GET", url, timestamp=int(time.time()) - 3600)
    for response in (
        tampered_query,
        other_method,
        httpx.get(url, headers={"Authorization": wrong_secret}),
        httpx.get(url, headers={"Authorization": wrong_realm}),
        httpx.get(url, headers={"Authorization": stale}),
    ):
        assert response.status_code == 401
    assert state.get("subsidiary", "1") is not None


def test_sandbox_base_string_matches_rfc5849_example() -> None:
    # RFC 5849 §3.4.1.1, without the two form-body parameters (NetSuite bodies are JSON).
    oauth = {
        "realm": "Example",
        "oauth_consumer_key": "9djdj82h48djs9d2",
        "oauth_token": "kkk9d7dh3k39sjv7",
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": "137131201",
        "oauth_nonce": "7d8f3e4a",
        "oauth_signature": "ignored",
    }
    text = base_string(
        "POST", "http", "example.com:80", "/request", "b5=%3D%253D&a3=a&c%40=&a2=r%20b", oauth
    )
    assert text == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3Da%26b5%3D%253D%25253D"
        "%26c%2540%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a"
        "%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201"
        "%26oauth_token%3Dkkk9d7dh3k39sjv7"
    )


# -- governance and faults -------------------------------------------------------------------


def test_requests_over_the_concurrency_limit_get_429(
    server: SandboxServer, state: NetSuiteState
) -> None:
    state.concurrency_limit = 5
    state.processing_delay = 0.6
    barrier = threading.Barrier(8)

    def call(_: int) -> httpx.Response:
        with httpx.Client(
            base_url=server.base_url, timeout=10, headers={"Authorization": f"Bearer {BEARER}"}
        ) as client:
            barrier.wait()
            return client.get(f"{RECORD}/subsidiary/1")

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(call, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) <= 5
    assert statuses.count(429) >= 3
    assert set(statuses) == {200, 429}
    refused = next(r for r in responses if r.status_code == 429)
    assert error_of(refused)["o:errorCode"] == "SSS_REQUEST_LIMIT_EXCEEDED"
    assert state.peak_in_flight == 5
    assert state.in_flight == 0


def test_injected_faults_use_the_netsuite_error_shape(api: httpx.Client, faults: Faults) -> None:
    faults.fail_next(503, 429)
    unavailable = api.get(f"{RECORD}/subsidiary/1")
    assert unavailable.status_code == 503
    assert error_of(unavailable)["o:errorCode"] == "UNEXPECTED_ERROR"
    limited = api.get(f"{RECORD}/subsidiary/1")
    assert error_of(limited)["o:errorCode"] == "SSS_REQUEST_LIMIT_EXCEEDED"
    assert api.get(f"{RECORD}/subsidiary/1").status_code == 200


def test_admin_endpoint_lists_records_without_auth(
    server: SandboxServer, api: httpx.Client
) -> None:
    new_customer(api, "Visible Co")
    response = httpx.get(f"{server.base_url}/__admin/records/customer")
    assert response.status_code == 200
    assert [r["companyName"] for r in response.json()] == ["Visible Co"]


def test_seed_from_firm_creates_one_employee_per_consultant() -> None:
    firm = generate_firm(seed=3, consultants=12)
    state = NetSuiteState()
    seed_from_firm(state, firm)
    employees = state.records("employee")
    assert len(employees) == 12
    first, spec = employees[0], firm.consultants[0]
    assert first["externalId"] == spec.id
    assert f"{first['firstName']} {first['lastName']}" == spec.name
    assert (first["email"], first["title"], first["subsidiary"]) == (spec.email, spec.role, "1")
    assert first["laborCost"] == float(spec.cost_rate)
    assert state.records("customer") == []
