"""The collection envelope NetSuite wraps record lists and SuiteQL rows in, and its paging."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from interlock.sandbox.netsuite.errors import NsError

MAX_PAGE = 1000


def base_url(request: Request) -> str:
    """The scheme and host the client called, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def page_params(request: Request) -> tuple[int, int]:
    """(limit, offset) of a collection or SuiteQL request; NsError 400 when out of range."""
    params = request.query_params
    try:
        limit, offset = int(params.get("limit", MAX_PAGE)), int(params.get("offset", 0))
    except ValueError:
        raise NsError(
            400, "limit and offset must be integers.", "INVALID_PARAMETER", query_param="limit"
        ) from None
    if not 1 <= limit <= MAX_PAGE:
        raise NsError(
            400,
            f"The limit must be between 1 and {MAX_PAGE}.",
            "INVALID_PARAMETER",
            query_param="limit",
        )
    if offset < 0:
        raise NsError(
            400, "The offset must not be negative.", "INVALID_PARAMETER", query_param="offset"
        )
    return limit, offset


def envelope(
    request: Request, items: list[Any], total: int, limit: int, offset: int
) -> dict[str, Any]:
    """``{links, count, hasMore, items, offset, totalResults}`` for one page."""
    url = f"{base_url(request)}{request.url.path}"
    extra = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}

    def link(rel: str, at: int) -> dict[str, str]:
        return {"rel": rel, "href": f"{url}?{urlencode({**extra, 'limit': limit, 'offset': at})}"}

    last = max(0, (total - 1) // limit * limit)
    links = [link("first", 0)] if offset > 0 else []
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    if offset + len(items) < total:
        links.append(link("next", offset + limit))
    if offset < last:
        links.append(link("last", last))
    links.append(link("self", offset))
    return {
        "links": links,
        "count": len(items),
        "hasMore": offset + len(items) < total,
        "items": items,
        "offset": offset,
        "totalResults": total,
    }
