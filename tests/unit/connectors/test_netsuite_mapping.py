"""Pure parts of the NetSuite connector: mapping, config rules, cursors, errors, signing."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import ValidationError

from interlock.connectors.netsuite import changes
from interlock.connectors.netsuite.auth import sign_jwt, signature_base_string
from interlock.connectors.netsuite.config import NetSuiteConfig
from interlock.connectors.netsuite.errors import read_error
from interlock.connectors.netsuite.mapping import (
    customer_from_native,
    customer_to_native,
    format_address,
    parse_address,
    project_from_native,
    project_to_native,
)
from interlock.exceptions import ContractViolation
from interlock.model import Address, BillingType, Customer, Project, ProjectStatus, canonical_id


def make_project(**overrides: Any) -> Project:
    values = {
        "id": "project_1",
        "name": "ERP Rollout",
        "customer_id": "customer_1",
        "start_date": "2026-04-01",
        "end_date": "2026-09-30",
        "billing_type": "time_and_materials",
        **overrides,
    }
    return Project.model_validate(values)


# -- mapping ---------------------------------------------------------------------------------


def test_customer_to_native_uses_references_and_address_lines() -> None:
    customer = Customer(
        id="customer_1",
        name="Acme",
        currency="EUR",
        billing_address=Address(city="Paris", country="FR"),
    )
    body = customer_to_native(customer, subsidiary_id="3", currency_id="2")
    assert body == {
        "companyName": "Acme",
        "subsidiary": {"id": "3"},
        "currency": {"id": "2"},
        "defaultAddress": "\nParis\n\nFR",
    }


def test_customer_without_currency_or_address_sends_neither() -> None:
    body = customer_to_native(Customer(id="c", name="Acme"), subsidiary_id="1", currency_id=None)
    assert body == {"companyName": "Acme", "subsidiary": {"id": "1"}}


@pytest.mark.parametrize(
    ("billing", "native"),
    [
        (BillingType.TIME_AND_MATERIALS, "4"),
        (BillingType.FIXED_FEE, "2"),
        (BillingType.MILESTONE, "3"),
    ],
)
def test_project_billing_type_mapping_round_trips(billing: BillingType, native: str) -> None:
    body = project_to_native(make_project(billing_type=billing), customer_id="7", subsidiary_id="1")
    assert body["jobBillingType"] == {"id": native}
    row = {
        "id": "5",
        "externalid": "project_1",
        "companyname": "ERP Rollout",
        "parent": "7",
        "parent_externalid": "customer_1",
        "startdate": "2026-04-01",
        "projectedenddate": "2026-09-30",
        "jobbillingtype": native,
        "entitystatus": "5",
    }
    assert project_from_native(row, "netsuite").billing_type is billing


def test_project_to_native_shape() -> None:
    body = project_to_native(
        make_project(po_number="PO-9", status="active"), customer_id="7", subsidiary_id="1"
    )
    assert body == {
        "companyName": "ERP Rollout",
        "parent": {"id": "7"},
        "subsidiary": {"id": "1"},
        "startDate": "2026-04-01",
        "projectedEndDate": "2026-09-30",
        "jobBillingType": {"id": "4"},
        "entityStatus": {"id": "2"},
        "comments": "PO: PO-9",
    }


def test_on_hold_status_is_not_written() -> None:
    body = project_to_native(make_project(status="on_hold"), customer_id="7", subsidiary_id="1")
    assert "entityStatus" not in body
    assert "comments" not in body


def test_project_from_native_reads_status_and_po_number() -> None:
    row = {
        "id": "5",
        "companyname": "X",
        "parent": "7",
        "startdate": "2026-01-01",
        "projectedenddate": "2026-02-01",
        "jobbillingtype": "3",
        "entitystatus": "1",
        "comments": "PO: 4500012345\nsent by email",
    }
    mapped = project_from_native(row, "netsuite")
    assert mapped.status is ProjectStatus.CLOSED
    assert mapped.po_number == "4500012345"
    assert mapped.id == canonical_id("project", "netsuite", "5")
    assert mapped.customer_id == canonical_id("customer", "netsuite", "7")


def test_project_from_native_names_every_missing_field() -> None:
    with pytest.raises(ContractViolation) as caught:
        project_from_native({"id": "5", "companyname": "X", "jobbillingtype": "1"}, "ns")
    assert {p.field for p in caught.value.problems} == {
        "customer_id",
        "start_date",
        "end_date",
        "billing_type",
    }
    assert caught.value.subject == "netsuite job 5"


def test_customer_from_native() -> None:
    row = {
        "id": "12",
        "externalid": "customer_x",
        "companyname": "Acme",
        "currency": "3",
        "currency_symbol": "GBP",
        "defaultaddress": "1 Main\nLondon\nEC1\nGB",
    }
    assert customer_from_native(row, "netsuite") == Customer(
        id="customer_x",
        name="Acme",
        currency="GBP",
        billing_address=Address(street="1 Main", city="London", postal_code="EC1", country="GB"),
    )


def test_person_customer_without_company_name_uses_entity_id() -> None:
    row = {"id": "12", "entityid": "Jane Doe"}
    assert customer_from_native(row, "netsuite").name == "Jane Doe"


def test_address_text_in_another_layout_is_kept_as_street() -> None:
    assert parse_address("Rue de Rivoli 1, Paris") == {"street": "Rue de Rivoli 1, Paris"}
    assert parse_address(None) is None
    assert format_address(Address()) is None
    address = Address(street="1 Main", postal_code="10001", country="US")
    assert Address.model_validate(parse_address(format_address(address))) == address


# -- config ----------------------------------------------------------------------------------


def test_config_names_the_missing_credentials_of_the_chosen_method() -> None:
    with pytest.raises(ValidationError, match="needs certificate_id, private_key_pem"):
        NetSuiteConfig(base_url="https://x.test", account_id="1234567", client_id="c")
    with pytest.raises(ValidationError, match="needs token_id, token_secret"):
        NetSuiteConfig(
            base_url="https://x.test",
            account_id="1234567",
            auth_method="tba",
            consumer_key="k",
            consumer_secret="s",
        )
    config = NetSuiteConfig(
        base_url="https://x.test",
        account_id="1234567_SB1",
        auth_method="tba",
        consumer_key="k",
        consumer_secret="s",
        token_id="t",
        token_secret="u",
    )
    assert config.subsidiary_id == "1"


def test_every_config_field_is_described() -> None:
    assert all(f.description for f in NetSuiteConfig.model_fields.values())


# -- change cursors --------------------------------------------------------------------------


def test_change_query_for_each_cursor_form() -> None:
    assert "WHERE" not in changes.change_query("customer", None)
    caught_up = changes.change_query("customer", "2026-03-02T09:00:00Z")
    assert (
        "WHERE lastmodifieddate >= TO_TIMESTAMP('2026-03-02 09:00:00', 'YYYY-MM-DD HH24:MI:SS')"
    ) in caught_up
    paging = changes.change_query("project", "2026-03-02T09:00:00Z|42")
    assert "FROM job WHERE lastmodifieddate > TO_TIMESTAMP" in paging
    assert "AND id > 42)" in paging
    assert paging.endswith("ORDER BY lastmodifieddate, id")


@pytest.mark.parametrize(
    "cursor", ["yesterday", "2026-03-02T09:00:00", "2026-03-02T09:00:00Z|1 OR 1=1"]
)
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match=r"cursor|Invalid isoformat"):
        changes.change_query("customer", cursor)


def test_next_cursor() -> None:
    rows = [{"id": "8", "lastmodified": "2026-03-02 09:00:05"}]
    assert changes.next_cursor(None, rows, more=True) == "2026-03-02T09:00:05Z|8"
    assert changes.next_cursor(None, rows, more=False) == "2026-03-02T09:00:05Z"
    assert changes.next_cursor("2026-03-02T09:00:00Z|3", [], more=False) == ("2026-03-02T09:00:00Z")
    assert changes.next_cursor(None, [], more=False) is None


def test_version_changes_with_content_not_only_with_the_stamp() -> None:
    row = {"id": "1", "companyname": "A", "lastmodified": "2026-03-02 09:00:05"}
    same = changes.to_change("customer", dict(row))
    renamed = changes.to_change("customer", {**row, "companyname": "B"})
    assert same.version == changes.to_change("customer", dict(row)).version
    assert same.version != renamed.version
    assert same.changed_at == dt.datetime(2026, 3, 2, 9, 0, 5, tzinfo=dt.UTC)


# -- errors ----------------------------------------------------------------------------------


def _response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(body))


def test_read_error_takes_detail_code_and_paths() -> None:
    body = {
        "type": "t",
        "title": "Bad Request",
        "status": 400,
        "o:errorDetails": [
            {
                "detail": "Invalid parent reference key 9.",
                "o:errorCode": "INVALID_KEY_OR_REF",
                "o:errorPath": "parent",
            },
            {
                "detail": "Please enter value(s) for: Name.",
                "o:errorCode": "USER_ERROR",
                "o:errorPath": "companyName",
            },
        ],
    }
    assert read_error(_response(400, body)) == (
        "Invalid parent reference key 9.; Please enter value(s) for: Name.",
        "INVALID_KEY_OR_REF",
        ("parent", "companyName"),
    )


def test_read_error_reads_oauth_errors_and_refuses_other_bodies() -> None:
    oauth = {"error": "invalid_client", "error_description": "Unknown kid."}
    assert read_error(_response(401, oauth)) == ("Unknown kid.", "invalid_client", ())
    with pytest.raises(ValueError, match="not a NetSuite error"):
        read_error(_response(500, ["x"]))
    with pytest.raises(ValueError, match="JSON"):
        read_error(httpx.Response(502, content=b"<html>"))


# -- signing ---------------------------------------------------------------------------------


def test_tba_base_string_matches_rfc5849_example() -> None:
    # RFC 5849 §3.4.1.1, without the two form-body parameters (NetSuite bodies are JSON).
    url = httpx.URL("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b")
    oauth = {
        "oauth_consumer_key": "9djdj82h48djs9d2",
        "oauth_token": "kkk9d7dh3k39sjv7",
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": "137131201",
        "oauth_nonce": "7d8f3e4a",
    }
    assert signature_base_string("POST", url, oauth) == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3Da%26b5%3D%253D%25253D"
        "%26c%2540%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a"
        "%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201"
        "%26oauth_token%3Dkkk9d7dh3k39sjv7"
    )


def test_ps256_jwt_verifies_with_the_public_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = sign_jwt({"alg": "PS256", "kid": "k1", "typ": "JWT"}, {"iss": "c1"}, key)
    header, claims, signature = token.split(".")

    def unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    assert orjson.loads(unb64(header)) == {"alg": "PS256", "kid": "k1", "typ": "JWT"}
    assert orjson.loads(unb64(claims)) == {"iss": "c1"}
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    key.public_key().verify(unb64(signature), f"{header}.{claims}".encode(), pss, hashes.SHA256())
