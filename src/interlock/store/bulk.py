"""Batch statements that stay cheap at hundreds of rows on PostgreSQL.

A multi-row ``VALUES`` list or an expanded ``IN (...)`` puts one placeholder per value into the
SQL text, and the driver parses that text again for every batch (thousands of placeholders,
milliseconds each). Here a batch is instead a handful of array parameters: rows go in as
``INSERT ... SELECT FROM unnest(...)`` and id lists as ``= ANY(...)``. The SQL text is the
same for every batch, so it is parsed and planned once. SQLite, which is in-process and has
no such cost, keeps the plain SQLAlchemy forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

_JSON = frozenset({"JSON", "JSONB"})


def _pg_type(column: sa.Column[Any], dialect: sa.Dialect) -> str:
    return str(column.type.compile(dialect=dialect))


def _value(value: Any, json: bool) -> Any:
    if json and value is not None:
        return orjson.dumps(value).decode()
    return value


def pg_insert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    suffix: str = "",
    returning: str | None = None,
) -> list[Any]:
    """Insert ``rows`` (same keys in each) with one ``unnest`` statement; PostgreSQL only.

    ``suffix`` is an ``ON CONFLICT`` clause written against the table's column names;
    ``returning`` names one column whose values come back.
    """
    if not rows:
        return []
    names = list(rows[0])
    casts, params = [], {}
    for index, name in enumerate(names):
        kind = _pg_type(table.c[name], conn.dialect)
        json = kind in _JSON
        params[f"p{index}"] = [_value(row[name], json) for row in rows]
        # Text, not VARCHAR(n): an explicit cast would cut a long value silently, while the
        # insert's own assignment refuses it ("value too long"), as a plain INSERT would.
        text = json or kind.startswith("VARCHAR")
        casts.append(f"%(p{index})b::{'TEXT' if text else kind}[]")
    selected = ", ".join(
        f"u.c{index}::JSONB" if _pg_type(table.c[name], conn.dialect) in _JSON else f"u.c{index}"
        for index, name in enumerate(names)
    )
    aliases = ", ".join(f"c{index}" for index in range(len(names)))
    # Names are the table's own columns; ``suffix`` is the caller's constant SQL.
    target = f"{table.name} ({', '.join(names)})"
    source = f"unnest({', '.join(casts)}) AS u({aliases})"
    sql = f"INSERT INTO {target} SELECT {selected} FROM {source} {suffix}"  # noqa: S608
    if returning is not None:
        sql += f" RETURNING {returning}"
    result = conn.exec_driver_sql(sql, params)
    return list(result.scalars()) if returning is not None else []


def member_of(column: sa.ColumnElement[Any], values: Sequence[Any], conn: sa.Connection) -> Any:
    """``column IN values``: one array parameter on PostgreSQL, an expanded list elsewhere."""
    if conn.dialect.name == "postgresql":
        array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == sa.any_(array)
    return column.in_(list(values))
