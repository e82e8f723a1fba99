"""The small interface every controller implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Controller(Protocol):
    """A long-running loop body, run only in the leader process.

    ``tick`` is called about every ``interval_s`` seconds with the current time in
    milliseconds. It must be idempotent and keep all of its state in the store, so a
    controller restarted (or moved to another leader) mid-way resumes where it was.
    """

    name: str
    interval_s: float

    def tick(self, now_ms: int) -> None: ...
