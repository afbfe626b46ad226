"""A JSON-RPC client for Tryton: session login, user context, typed values, errors.

Every call goes to ``POST <base_url>/<database>/rpc/`` with the header
``Authorization: Session base64(login:user id:token)`` and the user's context as its last
parameter. A 401 means the session expired or was logged out: the client logs in again
once and repeats the call (Tryton checks the session before it runs anything, so the
repeat cannot double a write). ``Accept-Encoding: gzip`` is always sent: without it
Tryton 8.2 streams long replies about nine times slower.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr

from interlock.connectors.http import VendorHttp
from interlock.connectors.tryton import wire
from interlock.exceptions import ConnectorUnavailable, MalformedResponse, OutcomeUnknown
from interlock.quota import QuotaSettings

Domain = Sequence[Any]
Record = dict[str, Any]

_SAFE_TO_REPEAT = frozenset(
    {"search", "read", "search_read", "search_count", "get_preferences", "get_id", "login"}
)
"""Methods that change nothing we care about: a timeout on them is no OutcomeUnknown."""


class TrytonRpc:
    """One Tryton user's session on one database.

    Args:
        system: Name of the system, used in every error.
        base_url: Server root, e.g. ``http://127.0.0.1:8000``.
        database: Database name.
        username: Login.
        password: Password; never logged or shown.
        language: Language code for messages.
        timeout: Seconds for connect and read.
        limits: Request quotas (a ``ConnectorConfig`` has them); queries count as reads.
    """

    def __init__(
        self,
        system: str,
        base_url: str,
        database: str,
        username: str,
        password: SecretStr,
        *,
        language: str = "en",
        timeout: float = 30.0,
        limits: QuotaSettings | None = None,
    ) -> None:
        self.system = system
        self.database = database
        self.username = username
        self._password = password
        self.language = language
        self._path = f"/{database}/rpc/"
        self._http = VendorHttp(
            system,
            base_url.rstrip("/"),
            read_error=wire.read_http_error,
            timeout=timeout,
            auth_headers=self._auth_headers,
            on_unauthorized=self.login,
            headers={"Accept": "application/json", "Accept-Encoding": "gzip"},
            limits=limits,
        )
        self._ids = itertools.count(1)
        self._session: str | None = None
        self.user_id: int | None = None
        self.context: dict[str, Any] = {}
        self.logins = 0
        """How many times this client logged in (a re-login after expiry counts)."""
        self._overrides: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"TrytonRpc({self.system!r}, database={self.database!r}, user={self.username!r})"

    def _auth_headers(self) -> dict[str, str]:
        if self._session is None:
            self.login()
        assert self._session is not None
        return {"Authorization": self._session}

    def _post(self, method: str, params: list[Any], *, headers: Mapping[str, str] | None) -> Any:
        body = {"id": next(self._ids), "method": method, "params": wire.encode(params)}
        query = method.rsplit(".", 1)[-1] in _SAFE_TO_REPEAT
        try:
            response = self._http.request(
                "POST",
                self._path,
                json=body,
                headers=headers,
                auth=headers is None,
                write=not query,
            )
        except OutcomeUnknown as exc:
            if query:
                raise ConnectorUnavailable(self.system, exc.message, status=exc.status) from exc
            raise
        reply = self._http.json(response)
        if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
            raise MalformedResponse(self.system, f"{method}: reply has no result nor error")
        if reply.get("error") is not None:
            raise wire.error_for(self.system, method, reply["error"])
        return reply["result"]

    def login(self) -> None:
        """Log in and load the user's context. Raises AuthenticationFailed when refused."""
        params = [self.username, {"password": self._password.get_secret_value()}, self.language]
        result = self._post("common.db.login", params, headers={})
        if not isinstance(result, list) or len(result) < 2:
            raise MalformedResponse(self.system, "common.db.login: unexpected reply")
        user_id, token = int(result[0]), str(result[1])
        raw = f"{self.username}:{user_id}:{token}".encode()
        session = "Session " + base64.b64encode(raw).decode()
        context = self._post(
            "model.res.user.get_preferences", [True, {}], headers={"Authorization": session}
        )
        if not isinstance(context, dict):
            raise MalformedResponse(self.system, "get_preferences: context is not an object")
        self._session, self.user_id = session, user_id
        self.context = {**wire.decode(context), **self._overrides}
        self.logins += 1

    def set_company(self, company_id: int) -> None:
        """Work in ``company_id`` (one of the user's companies) from now on."""
        self._overrides = {"company": company_id, "companies": [company_id]}
        self.context.update(self._overrides)

    def call(self, method: str, *params: Any, decode: bool = True) -> Any:
        """Call ``method`` with ``params`` and the user's context; decode typed values."""
        if self._session is None:
            self.login()
        result = self._post(method, [*params, self.context], headers=None)
        return wire.decode(result) if decode else result

    # -- model helpers ----------------------------------------------------------------------

    def search(
        self,
        model: str,
        domain: Domain,
        *,
        order: Sequence[Any] | None = None,
        limit: int | None = None,
    ) -> list[int]:
        """Ids of the ``model`` records matching ``domain``."""
        return [int(i) for i in self.call(f"model.{model}.search", domain, 0, limit, order)]

    def search_read(
        self,
        model: str,
        domain: Domain,
        fields: Sequence[str],
        *,
        order: Sequence[Any] | None = None,
        limit: int | None = None,
        decode: bool = True,
    ) -> list[Record]:
        """Records matching ``domain`` with ``fields`` (and ``id``)."""
        method = f"model.{model}.search_read"
        rows = self.call(method, domain, 0, limit, order, list(fields), decode=decode)
        return list(rows)

    def read(self, model: str, ids: Sequence[int], fields: Sequence[str]) -> list[Record]:
        """``fields`` of the records ``ids``, in the order of ``ids``."""
        if not ids:
            return []
        rows = {r["id"]: r for r in self.call(f"model.{model}.read", list(ids), list(fields))}
        return [rows[i] for i in ids if i in rows]

    def create(self, model: str, values: Sequence[Mapping[str, Any]]) -> list[int]:
        """Create one record per mapping in one transaction; their ids in order."""
        if not values:
            return []
        return [int(i) for i in self.call(f"model.{model}.create", [dict(v) for v in values])]

    def write(self, model: str, ids: Sequence[int], values: Mapping[str, Any]) -> None:
        """Write ``values`` on the records ``ids``."""
        if ids and values:
            self.call(f"model.{model}.write", list(ids), dict(values))

    def delete(self, model: str, ids: Sequence[int]) -> None:
        """Delete the records ``ids``."""
        if ids:
            self.call(f"model.{model}.delete", list(ids))

    def button(self, model: str, name: str, ids: Sequence[int]) -> Any:
        """Press the button ``name`` of ``model`` on the records ``ids``."""
        return self.call(f"model.{model}.{name}", list(ids))

    def model_data_id(self, module: str, xml_id: str) -> int:
        """Database id of the record a module defines as ``module.xml_id``."""
        return int(self.call("model.ir.model.data.get_id", module, xml_id))

    @contextmanager
    def wizard(self, name: str) -> Iterator[Wizard]:
        """Run the wizard ``name``; its session is deleted on exit."""
        created = self.call(f"wizard.{name}.create")
        wizard = Wizard(self, name, int(created[0]))
        try:
            yield wizard
        finally:
            self.call(f"wizard.{name}.delete", wizard.session_id)

    def logout(self) -> None:
        """End the session on the server (the next call logs in again)."""
        if self._session is not None:
            self._post("common.db.logout", [], headers={"Authorization": self._session})
            self._session = None

    def close(self) -> None:
        """Close the connections."""
        self._http.close()


class Wizard:
    """A running wizard session."""

    def __init__(self, rpc: TrytonRpc, name: str, session_id: int) -> None:
        self.rpc, self.name, self.session_id = rpc, name, session_id

    def execute(self, state: str, data: Mapping[str, Any] | None = None) -> Record:
        """Go to ``state`` with the form values ``data`` ({view state: {field: value}})."""
        result = self.rpc.call(
            f"wizard.{self.name}.execute", self.session_id, dict(data or {}), state
        )
        return dict(result) if isinstance(result, dict) else {}
