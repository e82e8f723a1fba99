"""Run search filters: MLflow's syntax, plus OR and parentheses.

``metrics.auc > 0.9 and params.depth = '3'``, ``tags.team IN ('a', 'b')``,
``status = 'finished' OR (metrics.loss < 0.1 AND attributes.start_time > 1700000000000)``.
AND binds tighter than OR. Strings are single- or double-quoted; a quote is escaped by
doubling it (``'it''s'``). Keys with spaces or dots are backtick- or double-quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mainsail.core._errors import FilterSyntaxError

Entity = Literal["metrics", "params", "tags", "attributes", "datasets"]
Value = float | str | tuple[str, ...] | None

_ENTITIES: dict[str, Entity] = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "parameters": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
    "datasets": "datasets",
    "dataset": "datasets",
}
ATTRIBUTES = (
    "status",
    "run_id",
    "run_name",
    "start_time",
    "end_time",
    "experiment",
    "user",
    "git_commit",
)
_NUMERIC_ATTRS = ("start_time", "end_time")
_CMP = ("=", "!=", "<", "<=", ">", ">=")
OPERATORS = (
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT IN",
    "IS NULL",
    "IS NOT NULL",
)


@dataclass(frozen=True)
class Comparison:
    entity: Entity
    key: str
    op: str
    value: Value = None

    def to_text(self) -> str:
        key = self.key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.key) else f"`{self.key}`"
        left = f"{self.entity}.{key}"
        if self.op in ("IS NULL", "IS NOT NULL"):
            return f"{left} {self.op}"
        return f"{left} {self.op} {_render(self.value)}"


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]

    def to_text(self) -> str:
        return " AND ".join(
            f"({i.to_text()})" if isinstance(i, Or) else i.to_text() for i in self.items
        )


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]

    def to_text(self) -> str:
        return " OR ".join(i.to_text() for i in self.items)


Expr = Comparison | And | Or


@dataclass(frozen=True)
class OrderKey:
    entity: Entity
    key: str
    descending: bool = False


def _render(v: Value) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(_render(x) for x in v) + ")"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return repr(v)


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<str>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<bq>`[^`]*`)
  | (?P<op>!=|<=|>=|==|=|<|>)
  | (?P<punct>[(),.])
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*)
    """,
    re.VERBOSE,
)


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch in "'\"`":
                raise _error(text, pos, "a closing quote", f"an unterminated string starting {ch}")
            raise _error(text, pos, "a name, number, string or operator", repr(ch))
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    return out


def _error(text: str, pos: int, expected: str, found: str) -> FilterSyntaxError:
    caret = " " * pos + "^"
    return FilterSyntaxError(
        f"Invalid filter at position {pos}: expected {expected}, found {found}.\n  {text}\n  {caret}"
    )


def _unquote(tok: _Tok) -> str:
    q = tok.text[0]
    return tok.text[1:-1].replace(q + q, q)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self, expected: str) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise _error(self.text, len(self.text), expected, "the end of the filter")
        self.i += 1
        return tok

    def word(self, *words: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.upper() in words:
            self.i += 1
            return True
        return False

    def parse(self) -> Expr:
        expr = self.parse_or()
        tok = self.peek()
        if tok is not None:
            raise _error(self.text, tok.pos, "AND, OR or the end of the filter", repr(tok.text))
        return expr

    def parse_or(self) -> Expr:
        items = [self.parse_and()]
        while self.word("OR"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Expr:
        items = [self.parse_atom()]
        while self.word("AND"):
            items.append(self.parse_atom())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_atom(self) -> Expr:
        tok = self.peek()
        if tok is not None and tok.text == "(":
            self.i += 1
            expr = self.parse_or()
            close = self.next("')'")
            if close.text != ")":
                raise _error(self.text, close.pos, "')'", repr(close.text))
            return expr
        return self.parse_comparison()

    def parse_identifier(self) -> tuple[Entity, str, _Tok]:
        tok = self.next("a key such as metrics.auc, params.depth, tags.team or status")
        if tok.kind != "word":
            raise _error(
                self.text,
                tok.pos,
                "a key such as metrics.auc, params.depth, tags.team or status",
                repr(tok.text),
            )
        nxt = self.peek()
        if nxt is not None and nxt.text == ".":
            self.i += 1
            entity = _ENTITIES.get(tok.text.lower())
            if entity is None:
                raise _error(
                    self.text,
                    tok.pos,
                    "an entity prefix (metrics., params., tags., attributes., datasets.)",
                    repr(tok.text),
                )
            key_tok = self.next("a key name after the dot")
            if key_tok.kind == "word":
                key = key_tok.text
            elif key_tok.kind in ("bq", "str"):
                key = _unquote(key_tok)
            else:
                raise _error(self.text, key_tok.pos, "a key name after the dot", repr(key_tok.text))
            return entity, key, tok
        if tok.text.lower() in ATTRIBUTES:
            return "attributes", tok.text.lower(), tok
        raise _error(
            self.text,
            tok.pos,
            "an entity prefix (metrics., params., tags., attributes., datasets.) or an attribute ("
            + ", ".join(ATTRIBUTES)
            + ")",
            repr(tok.text),
        )

    def parse_operator(self, after: str) -> str:
        tok = self.peek()
        expected = f"an operator ({', '.join(OPERATORS)}) after '{after}'"
        if tok is None:
            raise _error(self.text, len(self.text), expected, "the end of the filter")
        if tok.kind == "op":
            self.i += 1
            return "=" if tok.text == "==" else tok.text
        if tok.kind == "word":
            up = tok.text.upper()
            if up in ("LIKE", "ILIKE", "IN"):
                self.i += 1
                return up
            if up == "NOT":
                self.i += 1
                if self.word("IN"):
                    return "NOT IN"
                if self.word("LIKE"):
                    return "NOT LIKE"
                raise _error(self.text, tok.pos, "NOT IN", repr(tok.text))
            if up == "IS":
                self.i += 1
                neg = self.word("NOT")
                if self.word("NULL"):
                    return "IS NOT NULL" if neg else "IS NULL"
                nxt = self.peek()
                raise _error(
                    self.text, nxt.pos if nxt else len(self.text), "NULL", "something else"
                )
        raise _error(self.text, tok.pos, expected, repr(tok.text))

    def parse_value(self) -> float | str:
        tok = self.next("a value (a number or a quoted string)")
        if tok.kind == "num":
            return float(tok.text)
        if tok.kind == "str":
            return _unquote(tok)
        raise _error(self.text, tok.pos, "a value (a number or a quoted string)", repr(tok.text))

    def parse_comparison(self) -> Comparison:
        entity, key, start = self.parse_identifier()
        last = self.toks[self.i - 1]
        label = self.text[start.pos : last.pos + len(last.text)]
        op = self.parse_operator(label)
        value: Value = None
        if op in ("IN", "NOT IN"):
            open_tok = self.next("'(' after IN")
            if open_tok.text != "(":
                raise _error(self.text, open_tok.pos, "'(' after IN", repr(open_tok.text))
            items: list[str] = []
            while True:
                v = self.parse_value()
                items.append(v if isinstance(v, str) else _num_text(v))
                sep = self.next("',' or ')'")
                if sep.text == ")":
                    break
                if sep.text != ",":
                    raise _error(self.text, sep.pos, "',' or ')'", repr(sep.text))
            value = tuple(items)
        elif op not in ("IS NULL", "IS NOT NULL"):
            value = self.parse_value()
        _check_types(self.text, start.pos, entity, key, op, value)
        if op == "NOT LIKE":
            raise _error(self.text, start.pos, "LIKE or NOT IN", "NOT LIKE (unsupported)")
        return Comparison(entity, key, op, value)


def _num_text(v: float) -> str:
    return str(int(v)) if v.is_integer() else repr(v)


def _check_types(text: str, pos: int, entity: Entity, key: str, op: str, value: Value) -> None:
    def bad(msg: str) -> FilterSyntaxError:
        return FilterSyntaxError(
            f"Invalid filter at position {pos}: {msg}\n  {text}\n  {' ' * pos}^"
        )

    null_ops = ("IS NULL", "IS NOT NULL")
    numeric = entity == "metrics" or (entity == "attributes" and key in _NUMERIC_ATTRS)
    if entity == "datasets" and key == "version":
        numeric = True
    if numeric:
        if op not in _CMP + null_ops:
            raise bad(f"{entity}.{key} is numeric; use one of {', '.join(_CMP)}. Got {op}.")
        if op not in null_ops and not isinstance(value, float):
            raise bad(f"{entity}.{key} is numeric; compare it with a number, not {_render(value)}.")
        return
    if op in null_ops:
        return
    if op in ("<", "<=", ">", ">="):
        raise bad(
            f"{entity}.{key} holds strings; use =, !=, LIKE, ILIKE, IN or NOT IN. "
            f"Got {op}. (Params and tags are stored as text: quote the value, e.g. = '3'.)"
        )
    if op in ("IN", "NOT IN"):
        return
    if not isinstance(value, str):
        raise bad(
            f"{entity}.{key} holds strings; quote the value: {op} '{_num_text(value) if isinstance(value, float) else value}'."
        )


def parse_filter(text: str | None) -> Expr | None:
    """Parse a filter string into an AST; None for an empty filter.

    Examples
    --------
    >>> parse_filter("metrics.auc > 0.9 and params.depth = '3'").to_text()
    "metrics.auc > 0.9 AND params.depth = '3'"
    """
    if text is None or not text.strip():
        return None
    if not isinstance(text, str):
        raise FilterSyntaxError(f"A filter must be a string. Got {type(text).__name__}.")
    return _Parser(text).parse()


_ORDER = re.compile(r"^\s*(?P<key>.+?)(?:\s+(?P<dir>\w+))?\s*$")


def parse_order_by(items: list[str] | None) -> list[OrderKey]:
    """Parse ``["metrics.auc DESC", "start_time"]`` into order keys."""
    out: list[OrderKey] = []
    for item in items or []:
        m = _ORDER.match(item) if isinstance(item, str) else None
        if not m:
            raise FilterSyntaxError(f"Invalid order_by item {item!r}: expected 'metrics.auc DESC'.")
        direction = (m["dir"] or "ASC").upper()
        key_text = m["key"]
        if direction not in ("ASC", "DESC"):
            key_text, direction = item.strip(), "ASC"
            if " " in key_text.strip('`"'):
                raise FilterSyntaxError(
                    f"Invalid order_by item {item!r}: the direction must be ASC or DESC, got {m['dir']!r}."
                )
        p = _Parser(key_text)
        entity, key, _ = p.parse_identifier()
        if p.peek() is not None:
            raise FilterSyntaxError(f"Invalid order_by item {item!r}: expected 'metrics.auc DESC'.")
        out.append(OrderKey(entity, key, direction == "DESC"))
    return out
