"""A third party's delivery plug-ins, outside ``src/``: a strategy and a controller.

``Staged`` moves the target through two fixed stages under its own variant role
(``staged``): half the traffic, then all of it, analysed against stable at each stage, then
promoted. ``Heartbeat`` is a controller that counts its ticks in a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mainsail.rollout import BaseStrategy, RolloutSpec, Variant, variant


class Staged(BaseStrategy):
    name = "staged"
    roles = ("stable", "staged")

    def steps(self, spec: RolloutSpec) -> list[float]:
        return [50.0, 100.0]

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        w = self.steps(spec)[step]
        return [
            variant(stable, "stable", 100 - w, "stable"),
            variant(target, "staged", w, "staged"),
        ]

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return "staged", "stable"


STAGED = Staged()


class Heartbeat:
    """Appends a line to ``<home>/heartbeat.log`` on every tick."""

    name = "heartbeat"
    interval_s = 0.05

    def __init__(self, ctx: Any) -> None:
        self.path = Path(ctx.home) / "heartbeat.log"

    def tick(self, now_ms: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(f"{now_ms}\n")
