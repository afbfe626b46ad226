"""How records and query results look on the wire: ``attributes``, batches, query cursors."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from interlock.sandbox.salesforce.errors import ApiError

Record = dict[str, Any]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with Salesforce's content type."""
    return Response(
        orjson.dumps(data), status, headers=headers, media_type="application/json;charset=UTF-8"
    )


def attributes(obj_name: str, record_id: str, version: str) -> dict[str, str]:
    """The ``attributes`` entry every record carries on the wire."""
    return {"type": obj_name, "url": f"/services/data/v{version}/sobjects/{obj_name}/{record_id}"}


def render(obj_name: str, record: Mapping[str, Any], version: str) -> Record:
    """A record as the REST API shows it: ``attributes`` first, then the fields."""
    return {"attributes": attributes(obj_name, record["Id"], version), **record}


class QueryCursors:
    """Query results snapshotted at query time, served batch by batch (``nextRecordsUrl``).

    The oldest cursors are forgotten past ``keep`` (orgs expire them too). Not locked: the
    state calls it under its own lock.
    """

    def __init__(self, keep: int = 64) -> None:
        self._keep = keep
        self._open: OrderedDict[str, tuple[list[Record], int]] = OrderedDict()

    def start(self, locator: str, rows: list[Record], page_size: int, version: str) -> Record:
        """Keep ``rows`` under ``locator``; return the first batch."""
        self._open[locator] = (rows, page_size)
        while len(self._open) > self._keep:
            self._open.popitem(last=False)
        return self.batch(locator, 0, version)

    def batch(self, locator: str, offset: int, version: str) -> Record:
        """The batch starting at ``offset``. Raises ApiError(INVALID_QUERY_LOCATOR)."""
        if locator not in self._open or offset < 0:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        rows, size = self._open[locator]
        chunk = rows[offset : offset + size]
        done = offset + len(chunk) >= len(rows)
        page: Record = {"totalSize": len(rows), "done": done}
        if not done:
            page["nextRecordsUrl"] = (
                f"/services/data/v{version}/query/{locator}-{offset + len(chunk)}"
            )
        page["records"] = [dict(r) for r in chunk]
        return page
