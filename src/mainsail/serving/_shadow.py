"""Shadow dispatch: copies of requests to shadow variants, never awaited by the client.

At most ``max_in_flight`` copies run at once; one over that is dropped and counted, so a slow
shadow costs the stable variant nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from mainsail.serving._model import ServedModel
from mainsail.serving._variant_stats import VariantStats


class ShadowDispatcher:
    """Runs shadow copies as background tasks and records how they compare."""

    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self.tasks: set[asyncio.Task[None]] = set()

    def send(
        self,
        shadows: Sequence[ServedModel],
        frame: Any,
        rows: int,
        predictions: Any,
        rid: str,
        stats: VariantStats | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        for sm in shadows:
            if len(self.tasks) >= self.max_in_flight:
                if stats is not None:
                    stats.record_dropped(sm.variant, sm.version)
                continue
            task = loop.create_task(self._run(sm, frame, rows, predictions, rid, stats))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _run(
        self,
        sm: ServedModel,
        frame: Any,
        rows: int,
        reference: Any,
        rid: str,
        stats: VariantStats | None,
    ) -> None:
        started = time.perf_counter()
        out, error = None, False
        try:
            result = await sm.infer(frame, rows, False, rid)
            out = result.predictions
        except Exception:  # noqa: BLE001 - a failing shadow is recorded, never surfaced
            error = True
        if stats is not None:
            stats.record_shadow(
                sm.variant,
                sm.version,
                (time.perf_counter() - started) * 1000,
                out,
                reference,
                error,
            )

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout`` seconds) for the copies still running."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)


__all__ = ["ShadowDispatcher"]
