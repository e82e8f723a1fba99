"""MLflow's run search syntax translated to Mainsail's filter language.

MLflow's ``filter_string`` is a conjunction of comparisons over ``metrics.``, ``params.``,
``tags.``, ``attributes.`` and ``datasets.`` keys; Mainsail's filter parser
(:mod:`mainsail.tracking._filter`) reads the same grammar (and more), so the string is parsed
once into Mainsail's AST and the parts whose meaning differs are rewritten:

- run statuses are upper case in MLflow (``'FINISHED'``) and lower case in Mainsail;
- ``attributes.run_name`` and ``tags."mlflow.runName"`` are the run's name;
- ``attributes.user_id`` is the run's user, ``attributes.created`` / ``Created`` its start;
- ``attributes.run_id IN (...)`` is kept; ``artifact_uri`` and ``lifecycle_stage`` have no
  Mainsail meaning and are refused with a message naming what is supported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from mainsail.core._errors import FilterSyntaxError
from mainsail.core._schemas import Experiment
from mainsail.tracking._filter import (
    And,
    Comparison,
    Entity,
    Expr,
    Or,
    OrderKey,
    _Parser,
    _Tok,
    parse_order_by,
)

T = TypeVar("T")

_ATTRS = {
    "status": "status",
    "run_id": "run_id",
    "run_name": "run_name",
    "start_time": "start_time",
    "end_time": "end_time",
    "created": "start_time",
    "user_id": "user",
}
_UNSUPPORTED = ("artifact_uri", "lifecycle_stage")


def _attribute(key: str) -> str:
    k = key.lower()
    if k in _ATTRS:
        return _ATTRS[k]
    if k in _UNSUPPORTED:
        raise FilterSyntaxError(
            f"The MLflow attribute {key!r} has no Mainsail equivalent and cannot be searched. "
            f"Supported attributes: {', '.join(sorted(_ATTRS))}."
        )
    raise FilterSyntaxError(
        f"Unknown MLflow run attribute {key!r}. Supported attributes: {', '.join(sorted(_ATTRS))}."
    )


def _rewrite(expr: Expr) -> Expr:
    if isinstance(expr, And):
        return And(tuple(_rewrite(i) for i in expr.items))
    if isinstance(expr, Or):
        return Or(tuple(_rewrite(i) for i in expr.items))
    c = expr
    if c.entity == "tags" and c.key == "mlflow.runName":
        return replace(c, entity="attributes", key="run_name")
    if c.entity != "attributes":
        return c
    value = c.value
    if c.key == "status":
        if isinstance(value, str):
            value = value.lower()
        elif isinstance(value, tuple):
            value = tuple(v.lower() for v in value)
    return Comparison(c.entity, c.key, c.op, value)


class _MlflowParser(_Parser):
    """Mainsail's parser with MLflow's attribute names mapped before the type checks."""

    def parse_identifier(self) -> tuple[Entity, str, _Tok]:
        tok = self.peek()
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        bare = tok is not None and tok.kind == "word" and (nxt is None or nxt.text != ".")
        if bare and tok is not None and tok.text.lower() in _ATTRS:  # run_name, user_id, created
            self.i += 1
            return "attributes", _ATTRS[tok.text.lower()], tok
        entity, key, tok = super().parse_identifier()
        if entity == "attributes":
            return entity, _attribute(key), tok
        return entity, key, tok


def translate_filter(text: str | None) -> Expr | None:
    """Parse an MLflow ``filter_string`` into Mainsail's filter AST.

    Examples
    --------
    >>> translate_filter("attributes.status = 'FINISHED' and metrics.rmse < 1").to_text()
    "attributes.status = 'finished' AND metrics.rmse < 1.0"
    """
    if text is None or not text.strip():
        return None
    return _rewrite(_MlflowParser(text).parse())


def translate_order_by(items: list[str] | None) -> list[OrderKey]:
    """Parse MLflow ``order_by`` items (``"metrics.rmse DESC"``, ``"attributes.start_time"``)."""
    prefixed = []
    for item in items or []:
        head = item.strip().split(" ")[0].lower() if isinstance(item, str) else ""
        prefixed.append(f"attributes.{item.strip()}" if head in _ATTRS else item)
    out = []
    for key in parse_order_by(prefixed):
        if key.entity == "tags" and key.key == "mlflow.runName":
            key = OrderKey("attributes", "run_name", key.descending)
        elif key.entity == "attributes":
            key = OrderKey("attributes", _attribute(key.key), key.descending)
        out.append(key)
    return out


class _FieldParser(_Parser):
    """Filters over a few named fields (``name LIKE 'churn%'``) and ``tags.<key>``, in Python."""

    def __init__(self, text: str, names: dict[str, str]) -> None:
        super().__init__(text)
        self.names = names

    def parse_identifier(self) -> tuple[Entity, str, _Tok]:
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.lower() in self.names:
            self.i += 1
            return self._typed(self.names[tok.text.lower()], tok)
        entity, key, tok = super().parse_identifier()
        if entity == "attributes" and key.lower() in self.names:
            return self._typed(self.names[key.lower()], tok)
        if entity == "tags":  # a missing tag compares as ''
            return "params", f"tags.{key}", tok
        raise FilterSyntaxError(
            f"This search filters by {', '.join(sorted(self.names))}; got {entity}.{key}. "
            "Example: name LIKE 'churn%'."
        )

    @staticmethod
    def _typed(key: str, tok: _Tok) -> tuple[Entity, str, _Tok]:
        # the parser's type checks: "metrics" is numeric, "params" holds strings
        return ("metrics" if key.endswith(("_at", "_ms", "time")) else "params"), key, tok


def _matches(c: Comparison, value: str | float) -> bool:
    v = c.value
    if c.op in ("LIKE", "ILIKE") and isinstance(v, str):
        pattern = re.escape(v).replace("%", ".*").replace("_", ".")
        flags = re.IGNORECASE if c.op == "ILIKE" else 0
        return re.fullmatch(pattern, str(value), flags | re.DOTALL) is not None
    if c.op in ("IN", "NOT IN") and isinstance(v, tuple):
        return (str(value) in v) == (c.op == "IN")
    ops = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    fn = ops.get(c.op)
    return bool(fn(value, v)) if fn is not None and v is not None else False


def _holds(expr: Expr, item: dict[str, Any]) -> bool:
    if isinstance(expr, And):
        return all(_holds(i, item) for i in expr.items)
    if isinstance(expr, Or):
        return any(_holds(i, item) for i in expr.items)
    return _matches(expr, item.get(expr.key, ""))


def filter_fields(
    items: list[T], text: str | None, names: dict[str, str], values: Callable[[T], dict[str, Any]]
) -> list[T]:
    """The items whose fields (``values(item)``) match an MLflow filter over ``names``.

    ``names`` maps each name the filter may use to a key of ``values(item)``.
    """
    if text is None or not text.strip():
        return items
    expr = _FieldParser(text, names).parse()
    return [i for i in items if _holds(expr, values(i))]


def filter_experiments(experiments: list[Experiment], text: str) -> list[Experiment]:
    """The experiments matching an MLflow experiment filter (``name LIKE 'churn%'``).

    Examples
    --------
    >>> e = Experiment(id=1, name="churn-a", created_at=5)
    >>> [x.name for x in filter_experiments([e], "name LIKE 'churn%'")]
    ['churn-a']
    """
    names = {"name": "name", "creation_time": "creation_time", "created": "creation_time"}
    return filter_fields(
        experiments,
        text,
        names,
        lambda e: {"name": e.name, "creation_time": float(e.created_at)},
    )
