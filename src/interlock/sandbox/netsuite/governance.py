"""The account's concurrency limit as ASGI middleware.

Record and SuiteQL requests count against the limit while they run; the one over it is
answered ``429`` with ``o:errorCode`` from ``state.concurrency_error_code``. A request stops
counting just before its last body chunk goes out, so a client that starts its next request
as soon as it has read a response is never refused for a slot the server still holds.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interlock.sandbox.netsuite.errors import NsError
from interlock.sandbox.netsuite.state import NetSuiteState

GOVERNED_PREFIXES = ("/services/rest/record/", "/services/rest/query/")


class Governance:
    """Counts record and query requests in flight; refuses the one over the account limit."""

    def __init__(self, app: ASGIApp, state: NetSuiteState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        governed = scope["type"] == "http" and scope.get("path", "").startswith(GOVERNED_PREFIXES)
        if not governed:
            await self.app(scope, receive, send)
            return
        if not self.state.enter():
            error = NsError(
                429,
                "Request blocked: the account has reached its limit of "
                f"{self.state.concurrency_limit} concurrent requests.",
                self.state.concurrency_error_code,
            )
            await error.response()(scope, receive, send)
            return
        released = False

        async def sending(message: Message) -> None:
            nonlocal released
            last = message["type"] == "http.response.body" and not message.get("more_body")
            if last and not released:
                released = True
                self.state.leave()
            await send(message)

        try:
            if self.state.processing_delay:
                await asyncio.sleep(self.state.processing_delay)
            await self.app(scope, receive, sending)
        finally:
            if not released:
                self.state.leave()
