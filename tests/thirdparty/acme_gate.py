"""A third-party package's gate plug-ins: a release check, a pipeline executor, a job handler.

Nothing here is part of Mainsail, and Mainsail's code knows none of it: tests register these
with the public ``register_*`` functions, or install them through the entry points declared
in ``site/acme_gate-1.0.dist-info/entry_points.txt`` (a subprocess with ``site`` on its path
sees them as an installed package's plug-ins).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mainsail.checks import CheckContext, CheckOutcome, PlanFacts
from mainsail.pipelines import StepTask, TaskResult, execute_task


# -- a release check ------------------------------------------------------------------------
class MinRowsConfig(BaseModel):
    """The ``min_rows`` policy section."""

    model_config = ConfigDict(extra="forbid")
    min: int = Field(ge=1)
    per_class: bool = False


class MinRowsCheck:
    """The check data holds at least ``min`` rows (per class of the label, if asked)."""

    name = "min_rows"
    config_model = MinRowsConfig
    order = 5  # before the built-ins: no point scoring a model on too few rows

    @staticmethod
    def informational(facts: PlanFacts) -> bool:
        return False

    def __init__(self, config: MinRowsConfig) -> None:
        self.config = config

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        n = len(context.X)
        if self.config.per_class and context.y is not None:
            n = int(context.y.value_counts().min())
        ok = n >= self.config.min
        return [
            CheckOutcome(
                name="min_rows",
                kind="min_rows",
                status="pass" if ok else "fail",
                value=float(n),
                threshold=float(self.config.min),
                detail=f"{n} rows{' in the smallest class' if self.config.per_class else ''}",
            )
        ]


# -- a pipeline executor ---------------------------------------------------------------------
class ThreadExecutor:
    """Runs steps on a pool of threads in this process (independent steps overlap)."""

    name = "acme-threads"

    def __init__(self, ctx: Any, workers: int = 2) -> None:
        self.ctx = ctx
        self.pool = ThreadPoolExecutor(max_workers=int(workers), thread_name_prefix="acme-step")
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def _run(self, task: StepTask) -> TaskResult:
        with self._lock:
            self.threads.add(threading.current_thread().name)
        return execute_task(task, self.ctx.artifacts)

    def submit(self, task: StepTask) -> Future[TaskResult]:
        return self.pool.submit(self._run, task)

    def wait(self, handles: list[Any]) -> list[tuple[Any, TaskResult]]:
        done, _ = wait_futures(handles, return_when=FIRST_COMPLETED)
        return [(h, h.result()) for h in handles if h in done]

    def close(self) -> None:
        self.pool.shutdown(wait=True)


# -- a job handler ---------------------------------------------------------------------------
def summarise(ctx: Any, payload: dict[str, Any], job: Any) -> dict[str, Any]:
    """Job kind ``acme.summarise``: sum the payload's numbers, say who ran it."""
    numbers = payload.get("numbers")
    if not isinstance(numbers, list):
        from mainsail.core import InvalidValueError

        raise InvalidValueError(
            f"acme.summarise needs payload['numbers'] (a list). Got {numbers!r}."
        )
    return {"total": sum(numbers), "attempt": job.attempts, "pid": os.getpid()}
