"""A third party's Mainsail plug-ins, in a module outside the package.

Nothing here is imported by Mainsail itself: tests register these by their
``"acme_plugins:Name"`` path (or declare them as entry points) and use them end to end.

- :class:`MedianShift`, a drift test: how far the median moved, in reference standard
  deviations. It reads only quantiles and the spread, so it scores raw columns and live
  sketches alike.
- :class:`PagerNotifier`, a notifier type: appends each notification as a JSON line to an
  outbox file (a stand-in for a paging service), so a server process can deliver too.
- :class:`FileDropTrigger`, a trigger type: fires when a file appears or changes (an
  upstream job dropping a "ready" marker), once per version of the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mainsail.automation import Firing, Trigger, seen, seen_patch
from mainsail.monitoring import AutoChoice, DriftScore


class MedianShift:
    name: ClassVar[str] = "acme_median_shift"
    kinds: ClassVar[tuple[str, ...]] = ("numeric",)
    threshold: ClassVar[float] = 0.5
    uses_p_value: ClassVar[bool] = False
    effect_floor: ClassVar[float | None] = None
    auto: ClassVar[AutoChoice | None] = None  # only when a monitor names it

    def score(self, reference: Any, current: Any) -> DriftScore:
        half = np.array([0.5])
        moved = abs(float(current.quantiles(half)[0]) - float(reference.quantiles(half)[0]))
        spread = reference.std()
        d = moved / spread if spread > 0 else (0.0 if moved == 0 else 1e9)
        return DriftScore(d, None, d)


class PagerNotifier:
    def __init__(self, channel: str, outbox: str) -> None:
        self.channel = channel
        self.outbox = Path(outbox)

    def send(self, alert: Any, event: str) -> None:
        line = {"channel": self.channel, "event": event, "rule": alert.rule, "id": alert.id}
        with self.outbox.open("a") as f:
            f.write(json.dumps(line) + "\n")


def outbox(path: str | Path) -> list[dict[str, Any]]:
    """What a :class:`PagerNotifier` delivered to ``path``."""
    p = Path(path)
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


class FileDropTrigger(Trigger):
    type: Literal["acme_file_drop"] = "acme_file_drop"
    path: str

    def evaluate(
        self,
        ctx: Any,
        automation: dict[str, Any],
        state: dict[str, Any],
        now: int,
        index: int,
    ) -> Firing | None:
        marker = Path(self.path)
        if not marker.is_file():
            return None
        content = marker.read_text()
        version = f"{marker.stat().st_mtime_ns}:{len(content)}"
        if seen(state, index) == version:
            return None
        return Firing(
            type="acme_file_drop",
            key=f"file:{self.path}:{version}",
            summary=f"{marker.name} landed: {content.strip()[:80]}",
            evidence={"path": self.path, "content": content[:200]},
            mark=seen_patch(index, version),
        )
