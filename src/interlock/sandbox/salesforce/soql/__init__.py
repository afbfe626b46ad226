"""A small SOQL parser: tokens, syntax tree and a recursive-descent parser.

Covers what an integration needs::

    SELECT field, ... | COUNT()  FROM object
    [WHERE condition]  [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...]  [LIMIT n]

Conditions compare a field with ``= != <> < <= > >= LIKE IN (...) NOT IN (...)``, combine with
``AND``/``OR``/``NOT`` and parentheses. As in SOQL, ``AND`` and ``OR`` may not be mixed at
one level without parentheses. Literals: ``'strings'`` with backslash escapes, numbers,
``true``/``false``/``null``, unquoted dates (``2024-01-31``) and datetimes
(``2024-01-31T12:00:00Z``, ``...00.000+01:00``). The parser knows no schema; ``query.py``
binds the tree to the org's objects.
"""

from interlock.sandbox.salesforce.soql.lexer import SoqlError, located, tokenize
from interlock.sandbox.salesforce.soql.parser import (
    Comparison,
    Condition,
    FieldRef,
    Literal,
    Logical,
    Not,
    OrderItem,
    Query,
    parse,
)

__all__ = [
    "Comparison",
    "Condition",
    "FieldRef",
    "Literal",
    "Logical",
    "Not",
    "OrderItem",
    "Query",
    "SoqlError",
    "located",
    "parse",
    "tokenize",
]
