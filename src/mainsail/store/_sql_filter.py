"""Compile a parsed run filter (``mainsail.tracking._filter``) into SQL over the run tables."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mainsail.core._errors import FilterSyntaxError
from mainsail.store import _tables as t

_ATTRIBUTE_COLUMNS = {
    "status": t.runs.c.status,
    "run_id": t.runs.c.id,
    "id": t.runs.c.id,
    "run_name": t.runs.c.name,
    "name": t.runs.c.name,
    "start_time": t.runs.c.start_time,
    "end_time": t.runs.c.end_time,
    "experiment": t.experiments.c.name,
    "user": t.runs.c.user,
    "git_commit": t.runs.c.git_commit,
}

_ENTITY_TABLES = {"metrics": t.latest_metrics, "params": t.params, "tags": t.tags}


def _compare(col: Any, op: str, value: Any) -> Any:
    op = op.upper()
    if op == "=":
        return col == value
    if op == "!=":
        return col != value
    if op == "<":
        return col < value
    if op == "<=":
        return col <= value
    if op == ">":
        return col > value
    if op == ">=":
        return col >= value
    if op == "LIKE":
        return col.like(value)
    if op == "ILIKE":
        return sa.func.lower(col).like(sa.func.lower(sa.literal(value)))
    if op == "IN":
        return col.in_(list(value))
    if op == "NOT IN":
        return col.not_in(list(value))
    raise FilterSyntaxError(f"Unsupported operator {op!r} in filter.")


def compile_filter(expr: Any) -> Any:
    """Turn an AST node into a SQLAlchemy boolean clause over ``runs`` (joined to experiments)."""
    kind = type(expr).__name__
    if kind == "And":
        return sa.and_(*(compile_filter(e) for e in expr.items))
    if kind == "Or":
        return sa.or_(*(compile_filter(e) for e in expr.items))
    if kind == "Not":
        return sa.not_(compile_filter(expr.item))
    if kind != "Comparison":
        raise FilterSyntaxError(f"Unexpected filter node {kind}.")
    entity, key, op, value = expr.entity, expr.key, expr.op.upper(), expr.value
    if entity == "attributes":
        col = _ATTRIBUTE_COLUMNS.get(key)
        if col is None:
            raise FilterSyntaxError(
                f"Unknown run attribute {key!r}. Valid attributes are: "
                + ", ".join(sorted(_ATTRIBUTE_COLUMNS))
                + "."
            )
        if op == "IS NULL":
            return col.is_(None)
        if op == "IS NOT NULL":
            return col.is_not(None)
        return _compare(col, op, value)
    if entity == "datasets":
        dv = t.dataset_versions
        ds = t.datasets
        sub = (
            sa.select(sa.literal(1))
            .select_from(t.run_inputs.join(dv, dv.c.id == t.run_inputs.c.dataset_version_id))
            .join(ds, ds.c.id == dv.c.dataset_id)
            .where(t.run_inputs.c.run_id == t.runs.c.id)
        )
        col = {"name": ds.c.name, "digest": dv.c.digest, "version": dv.c.version}.get(key)
        if col is None:
            raise FilterSyntaxError(
                f"Unknown dataset field {key!r}. Valid fields are: digest, name, version."
            )
        return sa.exists(sub.where(_compare(col, op, value)))
    table = _ENTITY_TABLES[entity]
    base = sa.select(sa.literal(1)).where(table.c.run_id == t.runs.c.id, table.c.key == key)
    if op == "IS NULL":
        return ~sa.exists(base)
    if op == "IS NOT NULL":
        return sa.exists(base)
    return sa.exists(base.where(_compare(table.c.value, op, value)))


def order_column(entity: str, key: str) -> tuple[Any, Any | None]:
    """The column to order by, and the outer-joined table it comes from (or None)."""
    if entity == "attributes":
        col = _ATTRIBUTE_COLUMNS.get(key)
        if col is None:
            raise FilterSyntaxError(
                f"Cannot order by unknown attribute {key!r}. Valid attributes are: "
                + ", ".join(sorted(_ATTRIBUTE_COLUMNS))
                + "."
            )
        return col, None
    table = _ENTITY_TABLES.get(entity)
    if table is None:
        raise FilterSyntaxError(f"Cannot order by {entity}.{key}.")
    alias = table.alias()
    return alias.c.value, alias
