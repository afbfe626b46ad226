"""The embedded demo: a generated firm, sandboxes in-process, deals won and mobilised.

Three vendor sandboxes run on localhost; the hub mobilises the won deals into the PSA and the
ERP on SQLite.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interlock.engine import RetryPolicy
from interlock.runtime import Hub, build_hub
from interlock.sandbox.faults import FaultPlan
from interlock.sandbox.firm import Firm, generate_firm
from interlock.sandbox.server import SandboxServer
from interlock.settings import Settings
from interlock.status import summary
from interlock.store import runs
from interlock.topology import parse_topology


@dataclass
class Rejection:
    """A deal the hub refused to mobilise, and why."""

    deal: str
    reasons: list[str]
    team: str | None


@dataclass
class DemoResult:
    """What the demo did, for the summary table."""

    deals: int = 0
    won: int = 0
    psa_projects: int = 0
    psa_tasks: int = 0
    scheduler_demand: int = 0
    erp_customers: int = 0
    erp_projects: int = 0
    mobilized: int = 0
    duplicates_refused: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    failed: int = 0
    cycle_p50: float | None = None
    cycle_p95: float | None = None
    elapsed: float = 0.0
    faults_injected: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[int, int], None]


def netsuite_credentials(state: Any) -> dict[str, str]:
    """A fresh EC key pair registered with the NetSuite sandbox as an M2M certificate."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    client_id, kid = "interlock-demo", "demo-certificate"
    state.register_client(client_id, kid, public_pem)
    return {"client_id": client_id, "certificate_id": kid, "private_key_pem": private_pem}


@contextlib.contextmanager
def sandboxes(firm: Firm) -> Iterator[dict[str, Any]]:
    """Start the Salesforce, Kantata and NetSuite sandboxes seeded from ``firm``.

    Yields a dict with each sandbox's ``state``, ``url`` and the demo credentials (as an
    environment mapping and a topology document).
    """
    from interlock.sandbox import float_, kantata, netsuite, salesforce
    from interlock.sandbox.faults import Faults

    sf_state = salesforce.SalesforceState()
    opportunity_ids = salesforce.seed_from_firm(sf_state, firm)
    ns_state = netsuite.NetSuiteState()
    netsuite.seed_from_firm(ns_state, firm)
    kt_state = kantata.KantataState()
    kantata.seed_from_firm(kt_state, firm)
    # Float's real limits (200 reads, 100 writes a minute) would stretch a demo to minutes;
    # the demo's Float answers as fast as it can. bench/connector_limits.py runs the limits.
    fl_state = float_.FloatState(reads_per_minute=None, writes_per_minute=None)
    float_.seed_from_firm(fl_state, firm)
    ns_credentials = netsuite_credentials(ns_state)
    faults = {name: Faults() for name in ("salesforce", "netsuite", "kantata", "float")}
    with (
        SandboxServer(salesforce.create_app(sf_state, faults["salesforce"])) as sf,
        SandboxServer(netsuite.create_app(ns_state, faults["netsuite"])) as ns,
        SandboxServer(kantata.create_app(kt_state, faults["kantata"])) as kt,
        SandboxServer(float_.create_app(fl_state, faults["float"])) as fl,
    ):
        environ = {
            "SF_CLIENT_ID": salesforce.DEMO_CLIENT_ID,
            "SF_CLIENT_SECRET": salesforce.DEMO_CLIENT_SECRET,
            "KANTATA_TOKEN": kantata.DEMO_TOKEN,
            "FLOAT_TOKEN": float_.DEMO_TOKEN,
            "NS_CLIENT_ID": ns_credentials["client_id"],
            "NS_CERTIFICATE_ID": ns_credentials["certificate_id"],
            "NS_PRIVATE_KEY": ns_credentials["private_key_pem"],
        }
        topology = {
            "systems": {
                "salesforce": {
                    "role": "crm",
                    "type": "salesforce",
                    "base_url": sf.base_url,
                    "credentials": {
                        "client_id": {"env": "SF_CLIENT_ID"},
                        "client_secret": {"env": "SF_CLIENT_SECRET"},
                    },
                },
                "kantata": {
                    "role": "psa",
                    "type": "kantata",
                    "base_url": kt.base_url,
                    "credentials": {"access_token": {"env": "KANTATA_TOKEN"}},
                },
                "float": {
                    "role": "scheduler",
                    "type": "float",
                    "base_url": fl.base_url,
                    "credentials": {"access_token": {"env": "FLOAT_TOKEN"}},
                    "options": {
                        "user_agent": "Interlock demo (ops@halcyon.example)",
                        "reads_per_minute": 60_000,
                        "writes_per_minute": 60_000,
                    },
                },
                "netsuite": {
                    "role": "erp",
                    "type": "netsuite",
                    "base_url": ns.base_url,
                    "credentials": {
                        "client_id": {"env": "NS_CLIENT_ID"},
                        "certificate_id": {"env": "NS_CERTIFICATE_ID"},
                        "private_key_pem": {"env": "NS_PRIVATE_KEY"},
                    },
                    "options": {
                        "account_id": ns_state.account_id,
                        "auth_method": "oauth2_m2m",
                        "signing_algorithm": "ES256",
                    },
                },
            },
            "flows": {"mobilize": {"enabled": True}},
        }
        yield {
            "salesforce": sf_state,
            "netsuite": ns_state,
            "kantata": kt_state,
            "float": fl_state,
            "opportunities": opportunity_ids,
            "environ": environ,
            "topology": topology,
            **{f"{name}_faults": f for name, f in faults.items()},
            "urls": {
                "salesforce": sf.base_url,
                "netsuite": ns.base_url,
                "kantata": kt.base_url,
                "float": fl.base_url,
            },
        }


CHAOS = FaultPlan(error_rates={500: 0.08, 502: 0.04, 503: 0.04, 429: 0.04}, latency_ms=3, seed=11)
"""What ``--chaos`` does to the PSA and ERP sandboxes: one request in five fails."""


def run_demo(
    database: Path,
    *,
    deals: int = 30,
    seed: int = 7,
    bad_share: float = 0.2,
    progress: Progress | None = None,
    timeout: float = 180.0,
    chaos: bool = False,
) -> DemoResult:
    """Run the whole demo against a fresh SQLite file at ``database``.

    With ``chaos``, the PSA and ERP sandboxes fail one request in five (5xx, and 429 with
    Retry-After); the engine's retries still set every deal up exactly once.
    """
    started = time.monotonic()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    firm = generate_firm(seed, deals=deals, bad_share=bad_share)
    result = DemoResult(deals=len(firm.deals))
    with sandboxes(firm) as env:
        settings = Settings(database_url=f"sqlite:///{database}")
        topology = parse_topology(env["topology"], "demo topology")
        policy = RetryPolicy(max_attempts=12, base_seconds=0.05, max_seconds=2.0)
        hub = build_hub(
            settings, topology, environ=env["environ"], source="demo topology", policy=policy
        )
        if chaos:
            for name in ("kantata", "netsuite"):
                env[f"{name}_faults"].set(CHAOS)
        try:
            hub.store.upgrade()
            hub.engine.run_until_idle(timeout=timeout)  # first sync: open deals, nothing to do
            _win_deals(hub, env, firm, result, progress, timeout)
            _edit_a_won_deal(hub, env, firm)
            hub.engine.run_until_idle(timeout=timeout)
            _collect(hub, env, firm, result)
            result.faults_injected = sum(
                env[f"{n}_faults"].injected for n in ("salesforce", "kantata", "netsuite")
            )
        finally:
            hub.close()
    result.elapsed = time.monotonic() - started
    return result


def _win_deals(
    hub: Hub,
    env: dict[str, Any],
    firm: Firm,
    result: DemoResult,
    progress: Progress | None,
    timeout: float,
) -> None:
    sf = env["salesforce"]
    total = len(firm.deals)
    for deal in firm.deals:
        sf.win(env["opportunities"][deal.key])
        result.won += 1
    deadline = time.monotonic() + timeout
    finished = 0
    while time.monotonic() < deadline:
        hub.engine.work_once()
        with hub.store.transaction("counting runs") as conn:
            counts = runs.counts(conn)
        finished = sum(counts.get(s, 0) for s in runs.RunStatus.FINAL)
        if progress is not None:
            progress(finished, total)
        if finished >= total:
            return
        time.sleep(0.02)


def _edit_a_won_deal(hub: Hub, env: dict[str, Any], firm: Firm) -> None:
    """Sales ops touch a deal that was already won: the hub must not set it up twice."""
    good = next(d for d in firm.deals if d.defect is None)
    env["salesforce"].update(
        "Opportunity", env["opportunities"][good.key], {"Description": "Signed copy attached"}
    )


def _collect(hub: Hub, env: dict[str, Any], firm: Firm, result: DemoResult) -> None:
    result.psa_projects = len(env["kantata"].records("workspaces"))
    result.psa_tasks = len(env["kantata"].records("stories"))
    result.scheduler_demand = len(
        [t for t in env["float"].records("tasks") if "[interlock:" in str(t.get("notes", ""))]
    )
    result.erp_customers = len(env["netsuite"].records("customer"))
    result.erp_projects = len(env["netsuite"].records("job"))
    names = {env["opportunities"][d.key]: d.name for d in firm.deals}
    with hub.store.transaction("summarising") as conn:
        result.summary = summary(conn)
        rejected = runs.listing(conn, status=runs.RunStatus.REJECTED, limit=10_000)
        failed = runs.listing(conn, status=runs.RunStatus.FAILED, limit=10_000)
        journal = conn.exec_driver_sql(
            "SELECT count(*) FROM journal WHERE outcome LIKE '%duplicate%'"
        ).scalar_one()
    result.duplicates_refused = int(journal)
    result.mobilized = int(result.summary["projects_mobilized"])
    result.failed = len(failed)
    cycle = result.summary["cycle_time_seconds"]
    result.cycle_p50, result.cycle_p95 = cycle["p50"], cycle["p95"]
    for run in rejected:
        error = run["error"] or {}
        native = _native_of(hub, run["journal_id"])
        reasons = [f"{p['field']}: {p['rule']}" for p in error.get("problems", [])]
        result.rejections.append(
            Rejection(
                names.get(native, run["business_key"]),
                reasons or [str(error.get("reason"))],
                error.get("team"),
            )
        )


def _native_of(hub: Hub, journal_id: int) -> str:
    with hub.store.transaction("reading an event") as conn:
        envelope = conn.exec_driver_sql(
            "SELECT envelope FROM journal WHERE id = ?", (journal_id,)
        ).scalar_one()
    import orjson

    data = orjson.loads(envelope) if isinstance(envelope, str | bytes) else envelope
    return str(data["data"]["native_id"])
