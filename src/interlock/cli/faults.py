"""``interlock faults``: inject faults into a running sandbox over its admin endpoint.

Every sandbox mounts ``/__admin/faults`` (see ``interlock.sandbox.faults``): ``set`` replaces
the plan, ``show`` prints it with its counters, ``clear`` removes every fault.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import orjson
import typer

faults_app = typer.Typer(
    help="Inject faults into a running sandbox (errors, latency, timeouts, outages, quota).",
    no_args_is_help=True,
)

ADMIN_PATH = "/__admin/faults"

Url = Annotated[
    str,
    typer.Argument(
        envvar="INTERLOCK_FAULTS_URL",
        help="Base URL of the sandbox, e.g. http://127.0.0.1:8001.",
        show_default=False,
    ),
]


def _admin_url(url: str) -> str:
    root = url.rstrip("/")
    return root if root.endswith(ADMIN_PATH) else root + ADMIN_PATH


def _error_rates(values: list[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for value in values:
        status, sep, rate = value.partition("=")
        try:
            code, share = int(status), float(rate)
        except ValueError:
            code, share = 0, -1.0
        if not sep or not 100 <= code <= 599 or not 0 <= share <= 1:
            raise typer.BadParameter(
                f"{value!r}: expected STATUS=RATE with a status 100-599 and a rate 0-1, "
                "e.g. 503=0.3",
                param_hint="--error-rate",
            )
        rates[str(code)] = share
    return rates


def _call(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    target = _admin_url(url)
    try:
        response = httpx.request(
            method, target, content=None if body is None else orjson.dumps(body), timeout=10
        )
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {target}: {type(exc).__name__}", err=True)
        raise typer.Exit(2) from None
    if response.status_code != 200:
        typer.echo(f"error: {target} answered HTTP {response.status_code}", err=True)
        raise typer.Exit(2)
    try:
        data: dict[str, Any] = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        typer.echo(f"error: {target} did not answer JSON; is it an Interlock sandbox?", err=True)
        raise typer.Exit(2) from None
    return data


def _print(plan: dict[str, Any]) -> None:
    typer.echo(orjson.dumps(plan, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


@faults_app.command("set")
def set_faults(
    url: Url,
    error_rate: Annotated[
        list[str] | None,
        typer.Option(
            "--error-rate",
            envvar="INTERLOCK_FAULTS_ERROR_RATE",
            help="STATUS=RATE: answer STATUS to this share of requests; repeat per status.",
        ),
    ] = None,
    latency_ms: Annotated[
        float,
        typer.Option(
            envvar="INTERLOCK_FAULTS_LATENCY_MS", min=0, help="Latency added to every request."
        ),
    ] = 0.0,
    timeout_rate: Annotated[
        float,
        typer.Option(
            envvar="INTERLOCK_FAULTS_TIMEOUT_RATE",
            min=0,
            max=1,
            help="Share of requests held unanswered, then dropped (the client times out).",
        ),
    ] = 0.0,
    timeout_ms: Annotated[
        float,
        typer.Option(
            envvar="INTERLOCK_FAULTS_TIMEOUT_MS",
            min=0,
            help="How long a timed-out request is held before its connection is dropped.",
        ),
    ] = 35_000.0,
    outage_seconds: Annotated[
        float,
        typer.Option(
            envvar="INTERLOCK_FAULTS_OUTAGE_SECONDS",
            min=0,
            help="Answer 503 to everything for this long.",
        ),
    ] = 0.0,
    quota: Annotated[
        int | None,
        typer.Option(
            envvar="INTERLOCK_FAULTS_QUOTA",
            min=0,
            help="Requests allowed from now on; later ones get the vendor's limit error.",
        ),
    ] = None,
    quota_status: Annotated[
        int | None,
        typer.Option(
            envvar="INTERLOCK_FAULTS_QUOTA_STATUS",
            min=100,
            max=599,
            help="Status of quota refusals (default: the sandbox's own, e.g. 403 for Salesforce).",
        ),
    ] = None,
    malformed_rate: Annotated[
        float,
        typer.Option(
            envvar="INTERLOCK_FAULTS_MALFORMED_RATE",
            min=0,
            max=1,
            help="Share of requests answered 200 with a body that is not JSON.",
        ),
    ] = 0.0,
    fail_next: Annotated[
        list[int] | None,
        typer.Option(
            "--fail-next",
            envvar="INTERLOCK_FAULTS_FAIL_NEXT",
            help="Answer this status to the next request; repeat for several, in order.",
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            envvar="INTERLOCK_FAULTS_SEED", help="Seed of the fault dice, for repeatable runs."
        ),
    ] = 0,
) -> None:
    """Replace the sandbox's fault plan and print it."""
    plan: dict[str, Any] = {
        "error_rates": _error_rates(error_rate or []),
        "latency_ms": latency_ms,
        "timeout_rate": timeout_rate,
        "timeout_ms": timeout_ms,
        "outage_seconds": outage_seconds,
        "quota": quota,
        "quota_status": quota_status,
        "malformed_rate": malformed_rate,
        "fail_next": list(fail_next or []),
        "seed": seed,
    }
    _print(_call("PUT", url, plan))


@faults_app.command("show")
def show_faults(url: Url) -> None:
    """Print the sandbox's fault plan and its counters (injected, quota used, timeouts)."""
    _print(_call("GET", url))


@faults_app.command("clear")
def clear_faults(url: Url) -> None:
    """Remove every fault from the sandbox."""
    _print(_call("DELETE", url))
