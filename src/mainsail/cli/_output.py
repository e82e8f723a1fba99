"""Rendering helpers shared by CLI commands: Rich tables, or JSON with --json."""

from __future__ import annotations

import datetime as dt
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


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title, header_style="bold cyan", title_justify="left")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*(fmt_value(v) for v in r))
    console.print(t)


STATUS_STYLE = {"running": "yellow", "finished": "green", "failed": "red", "killed": "magenta"}


def status(s: str) -> str:
    return f"[{STATUS_STYLE.get(s, 'white')}]{s}[/]"
