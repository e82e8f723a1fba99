"""Browsing runs at scale: one page of the run table with chosen columns, a metric series
as arrays (next to the database; the server's UI routes read them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy is not loaded with the protocols (import mainsail stays light)
    import numpy as np
    import numpy.typing as npt


@dataclass
class RunRow:
    id: str
    experiment: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    user: str | None
    git_commit: str | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class RunPage:
    total: int
    rows: list[RunRow]


@dataclass
class Series:
    step: npt.NDArray[np.int64]
    ts: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]


@runtime_checkable
class ExploreStore(Protocol):
    def run_page(
        self,
        experiments: Sequence[str] | None,
        filter_expr: Any,
        order_by: Sequence[Any],
        offset: int,
        limit: int,
        params: Sequence[str],
        metrics: Sequence[str],
    ) -> RunPage:
        """One page of runs (newest first unless ``order_by`` says otherwise) and the total;
        ``experiments=None`` is every experiment, an empty list none."""
        ...

    def run_keys(self, experiments: Sequence[str] | None) -> dict[str, list[str]]:
        """The distinct param and metric keys of the newest runs."""
        ...

    def run_state(self, run_id: str) -> tuple[str, int | None]:
        """A run's status and end time (RunNotFoundError if there is none)."""
        ...

    def metric_series(
        self, run_id: str, key: str, min_step: int | None = None, max_step: int | None = None
    ) -> tuple[Series, int]:
        """One metric of one run by step within the range, and the total count."""
        ...
