"""Rendering helpers shared by CLI commands: Rich tables, or JSON with --json."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    print(
        orjson.dumps(
            data,
            option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
            default=str,
        ).decode()
    )


def print_error(exc: Exception) -> None:
    """A MainsailError as the CLI shows it: its headline and message, no traceback."""
    headline = getattr(exc, "headline", "Error")
    message = getattr(exc, "message", str(exc))
    err_console.print(f"[bold red]{escape(headline)}:[/] {escape(message)}", highlight=False)


def fmt_ms(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def fmt_value(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


ID_PREFIX = 8  # ids in tables: a prefix long enough to pass back (`runs show PREFIX`)


def _is_id(column: str) -> bool:
    name = column.lower().replace(" ", "_")
    return name in ("id", "run") or name.endswith("_id")


def _cell(column: str, value: Any) -> str:
    text = fmt_value(value)
    if _is_id(column) and len(text) > ID_PREFIX and re.fullmatch(r"[0-9a-f]+", text):
        return text[:ID_PREFIX]  # --json prints the whole id
    return text


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Rich table; ids show as short prefixes that never wrap (``--json`` has them whole),
    headers do not break mid-word, and the other columns fold when the terminal is narrow."""
    t = Table(title=title, header_style="bold cyan", title_justify="left")
    # headers stay whole when they fit side by side (3 = padding and a border per column);
    # otherwise Rich would crop the last columns, which is worse than a wrapped header
    whole = sum(len(c) + 3 for c in columns) + 1 <= console.width
    for c in columns:
        t.add_column(c, overflow="fold", no_wrap=_is_id(c), min_width=len(c) if whole else None)
    for r in rows:
        t.add_row(*(_cell(c, v) for c, v in zip(columns, r, strict=False)))
    console.print(t)


STATUS_STYLE = {"running": "yellow", "finished": "green", "failed": "red", "killed": "magenta"}


def status(s: str) -> str:
    return f"[{STATUS_STYLE.get(s, 'white')}]{s}[/]"
