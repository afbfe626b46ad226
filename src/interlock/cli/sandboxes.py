"""``interlock sandbox``: vendor emulators served standalone."""

from __future__ import annotations

import threading

from rich.console import Console

from interlock.exceptions import ConfigError
from interlock.sandbox.firm import generate_firm
from interlock.sandbox.server import SandboxServer

SYSTEMS = ("salesforce", "netsuite", "kantata")


def serve_sandboxes(
    console: Console,
    system: str,
    *,
    host: str,
    port: int,
    seed: int,
    deals: int,
    stop: threading.Event,
) -> None:
    """Serve the chosen sandboxes until ``stop`` is set."""
    from interlock.sandbox import kantata, netsuite, salesforce

    chosen = SYSTEMS if system == "all" else (system,)
    if any(name not in SYSTEMS for name in chosen):
        raise ConfigError("command line", "SYSTEM", f"must be one of {', '.join(SYSTEMS)}, all")
    firm = generate_firm(seed, deals=deals)
    servers = []
    for offset, name in enumerate(chosen):
        if name == "salesforce":
            sf_state = salesforce.SalesforceState()
            salesforce.seed_from_firm(sf_state, firm)
            app = salesforce.create_app(sf_state)
            note = f"client id {salesforce.DEMO_CLIENT_ID}"
        elif name == "netsuite":
            ns_state = netsuite.NetSuiteState()
            netsuite.seed_from_firm(ns_state, firm)
            app = netsuite.create_app(ns_state)
            note = "account DEMO1"
        else:
            kt_state = kantata.KantataState()
            kantata.seed_from_firm(kt_state, firm)
            app = kantata.create_app(kt_state)
            note = "bearer token: see interlock.sandbox.kantata.DEMO_TOKEN"
        server = SandboxServer(app, host=host, port=port + offset).start()
        servers.append(server)
        console.print(f"{name:<11} {server.base_url}  ({note})")
    console.print("Ctrl-C to stop.")
    stop.wait()
    for server in servers:
        server.stop()
