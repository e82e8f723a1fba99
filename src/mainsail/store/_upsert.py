"""Dialect-specific INSERT ... ON CONFLICT helpers (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def _insert(conn: Connection, table: sa.Table) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


_cache: dict[tuple[Any, ...], Any] = {}


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
    where: Any = None,
) -> None:
    """Insert ``rows``; on a key conflict update ``update`` columns (optionally only ``where``).

    Statements are built once per shape: building ``excluded`` clauses is costly.
    """
    if not rows:
        return
    cache_key = (conn.dialect.name, table.name, tuple(keys), tuple(update), where)
    stmt = _cache.get(cache_key)
    if stmt is None:
        base = _insert(conn, table)
        stmt = base.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: base.excluded[c] for c in update},
            where=where(base.excluded) if where is not None else None,
        )
        _cache[cache_key] = stmt
    conn.execute(stmt, list(rows))


def insert_ignore(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert ``rows``, skipping those whose key already exists."""
    if not rows:
        return
    stmt = _insert(conn, table).on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt, list(rows))
