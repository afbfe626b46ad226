"""Proof: simple-salesforce (PyPI), unchanged, works against the Salesforce sandbox.

simple-salesforce only speaks HTTPS (it builds ``https://{instance}/services/data/...``), so
the sandbox is served over TLS with a throwaway CA; the client's own ``requests`` session
trusts that CA, as a company proxy's CA would be trusted. Its JWT login only knows
``https://{domain}.salesforce.com``; one test routes that host to the sandbox at the transport
(as a hosts-file entry would), leaving simple-salesforce's code untouched.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette

pytest.importorskip("simple_salesforce", reason="needs simple-salesforce (the dev extra)")

from requests import Session
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from interlock.sandbox.salesforce import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SalesforceState,
)
from interlock.sandbox.salesforce import create_app as create_org
from interlock.serving import free_port

CONSUMER_KEY = "3MVG9simple"
USER = "integration@acme.example"


class TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 and login.salesforce.com."""

    def __init__(self, folder: Path) -> None:
        now = dt.datetime.now(dt.UTC)
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Interlock test CA")])
        ca = (
            self._builder(ca_name, ca_name, ca_key, now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        names = [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("login.salesforce.com"),
        ]
        leaf = (
            self._builder(leaf_name, ca_name, key, now)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca = folder / "ca.pem"
        self.cert = folder / "server.pem"
        self.key = folder / "server.key"
        self.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        self.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )

    @staticmethod
    def _builder(
        subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey, now: dt.datetime
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
        )


class HttpsServer:
    """The sandbox app served over HTTPS on 127.0.0.1 from a daemon thread."""

    def __init__(self, app: Starlette, tls: TlsFiles) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ssl_certfile=str(tls.cert),
            ssl_keyfile=str(tls.key),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.base_url = f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> HttpsServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the TLS server did not start"
            assert self._thread.is_alive(), "the TLS server stopped"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class RouteHost(HTTPAdapter):
    """Sends requests for one host to another base URL (what a hosts-file entry does)."""

    def __init__(self, host: str, target: str) -> None:
        super().__init__()
        self.host, self.target = host, target

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        request.url = str(request.url).replace(self.host, self.target, 1)
        return super().send(request, *args, **kwargs)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return TlsFiles(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def server(tls: TlsFiles) -> Iterator[tuple[HttpsServer, Starlette]]:
    app = create_org()
    with HttpsServer(app, tls) as running:
        yield running, app


@pytest.fixture
def state(
    server: tuple[HttpsServer, Starlette], signing_key: rsa.RSAPrivateKey
) -> Iterator[SalesforceState]:
    fresh = SalesforceState(page_size=3)
    public = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fresh.register_jwt_app(CONSUMER_KEY, public, users=[USER])
    server[1].state.sandbox = fresh
    yield fresh
    fresh.close()


def session_for(tls: TlsFiles) -> Session:
    session = Session()
    session.verify = str(tls.ca)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE would override ``verify``
    return session


@pytest.fixture
def sf(server: tuple[HttpsServer, Starlette], state: SalesforceState, tls: TlsFiles) -> Salesforce:
    answer = httpx.post(
        f"{server[0].base_url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
        verify=ssl.create_default_context(cafile=str(tls.ca)),
    ).json()
    return Salesforce(
        instance_url=answer["instance_url"],
        session_id=answer["access_token"],
        session=session_for(tls),
    )


def sobject(sf: Salesforce, name: str) -> SFType:
    handler = getattr(sf, name)  # sf.Account, written so that mypy sees an SFType
    assert isinstance(handler, SFType)
    return handler


def test_query_all_follows_next_records_url_across_pages(
    sf: Salesforce, state: SalesforceState
) -> None:
    for n in range(10):
        state.create("Account", {"Name": f"Acme {n:02d}"})
    result = sf.query_all("SELECT Id, Name FROM Account ORDER BY Name")
    assert result["totalSize"] == 10
    assert [r["Name"] for r in result["records"]] == [f"Acme {n:02d}" for n in range(10)]
    assert result["records"][0]["attributes"]["type"] == "Account"
    assert state.api_usage == 4  # batches of 3: the query and three nextRecordsUrl reads
    assert sf.api_usage["api-usage"].used == 4
    first = sf.query("SELECT Id FROM Account")
    assert (first["done"], first["totalSize"]) == (False, 10)
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{sf.sf_version}/query/")


def test_create_get_and_upsert_by_external_id(sf: Salesforce, state: SalesforceState) -> None:
    accounts = sobject(sf, "Account")
    created = accounts.create({"Name": "Acme", "BillingCity": "Paris"})
    assert created == {"id": created["id"], "success": True, "errors": []}
    assert accounts.upsert("Hub_Id__c/CUST-1", {"Name": "Hub Co"}) == 201
    assert accounts.upsert("Hub_Id__c/CUST-1", {"Name": "Hub Co SA"}) == 200  # v59: body
    assert accounts.get_by_custom_id("Hub_Id__c", "CUST-1")["Name"] == "Hub Co SA"
    deal = sobject(sf, "Opportunity").create(
        {
            "Name": "Acme - ERP",
            "AccountId": created["id"],
            "StageName": "Prospecting",
            "CloseDate": "2026-12-31",
        }
    )
    fetched = sobject(sf, "Opportunity").get(deal["id"])
    assert fetched["attributes"]["type"] == "Opportunity"
    assert (fetched["AccountId"], fetched["IsWon"]) == (created["id"], False)
    assert sorted(a["Name"] for a in state.records("Account")) == ["Acme", "Hub Co SA"]


def test_upsert_update_before_v46_answers_204(
    server: tuple[HttpsServer, Starlette], sf: Salesforce, state: SalesforceState, tls: TlsFiles
) -> None:
    old = Salesforce(
        instance_url=server[0].base_url,
        session_id=sf.session_id,
        session=session_for(tls),
        version="42.0",
    )
    accounts = sobject(old, "Account")
    assert accounts.upsert("Hub_Id__c/CUST-2", {"Name": "Old API"}) == 201
    assert accounts.upsert("Hub_Id__c/CUST-2", {"Name": "Old API SA"}) == 204


def test_deleted_records_are_listed(sf: Salesforce, state: SalesforceState) -> None:
    gone = state.create("Account", {"Name": "Gone"})
    state.delete("Account", gone)
    now = dt.datetime.now(dt.UTC)
    found = sobject(sf, "Account").deleted(now - dt.timedelta(hours=1), now + dt.timedelta(hours=1))
    assert [r["id"] for r in found["deletedRecords"]] == [gone]


def test_our_errors_raise_simple_salesforce_exception_types(
    sf: Salesforce, state: SalesforceState
) -> None:
    accounts = sobject(sf, "Account")
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        accounts.create({"Name": "A", "Colour__c": "red"})
    body: Any = malformed.value.content  # the parsed JSON body, as simple-salesforce keeps it
    assert body == [
        {
            "message": "No such column 'Colour__c' on sobject of type Account",
            "errorCode": "INVALID_FIELD",
            "fields": ["Colour__c"],
        }
    ]
    with pytest.raises(SalesforceResourceNotFound):
        accounts.get("001Dn00000000ZZIAA")
    for _ in range(2):
        state.create("Account", {"Name": "Twin", "Hub_Id__c": "TWIN"})
    with pytest.raises(SalesforceMoreThanOneRecord) as several:
        accounts.upsert("Hub_Id__c/TWIN", {"Name": "Which?"})
    assert len(several.value.content) == 2
    state.api_limit = state.api_usage
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM Account")
    limit_body: Any = refused.value.content
    assert limit_body[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    state.api_limit = 1000
    state.expire_tokens()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")


def jwt_login(state: SalesforceState, tls: TlsFiles, base_url: str, pem: str) -> Salesforce:
    session = session_for(tls)
    session.mount("https://login.salesforce.com", RouteHost("login.salesforce.com", base_url[8:]))
    return Salesforce(
        username=USER, consumer_key=CONSUMER_KEY, privatekey=pem, domain="login", session=session
    )


def test_simple_salesforce_jwt_login_is_accepted(
    server: tuple[HttpsServer, Starlette],
    state: SalesforceState,
    tls: TlsFiles,
    signing_key: rsa.RSAPrivateKey,
) -> None:
    pem = signing_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    sf = jwt_login(state, tls, server[0].base_url, pem)  # PyJWT-signed, exp as a string
    created = sobject(sf, "Account").create({"Name": "Via JWT"})
    record = state.get("Account", created["id"])
    assert record is not None
    assert record["CreatedById"] == state.access.usernames[USER]
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = stranger.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(SalesforceAuthenticationFailed, match="invalid assertion"):
        jwt_login(state, tls, server[0].base_url, other)
