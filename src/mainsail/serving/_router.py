"""Pick a variant per request in O(1): a precomputed slot table and one draw (or a key hash)."""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SLOTS = 10_000  # weight resolution: 0.01 %


@dataclass(frozen=True)
class Route:
    name: str
    model: Any  # ServedModel (anything with .variant / .version)
    weight: float
    role: str = "stable"


class Router:
    """The variants of one endpoint revision and how requests are spread over them.

    ``pick`` costs one table lookup: a random slot, or the slot a sticky key hashes to
    (CRC-32, identical in every replica and process). A variant that answers clients can
    always be reached by name through the ``x-mainsail-variant`` header, including a 0 %
    blue-green preview. Shadow variants never answer a client, not even by name (a client
    could otherwise read answers the rollout has not released); they get copies.

    Examples
    --------
    >>> r = Router([Route("stable", "m1", 90), Route("canary", "m2", 10, "canary")])
    >>> r.pick(key="user-1") == r.pick(key="user-1")
    True
    """

    def __init__(
        self,
        routes: Sequence[Route],
        revision: int = 0,
        key_header: str = "x-mainsail-key",
        key_field: str | None = None,
        shadow_sample: float = 1.0,
    ) -> None:
        self.revision = revision
        self.routes = list(routes)
        self.key_header = key_header.lower()
        self.key_field = key_field
        self.shadow_sample = shadow_sample
        # by name: only the variants that may answer a client (never a shadow)
        self.by_name = {r.name: r.model for r in self.routes if r.role != "shadow"}
        self.shadows = [r.model for r in self.routes if r.role == "shadow"]
        serving = [r for r in self.routes if r.role != "shadow"]
        if not serving:
            raise ValueError("a router needs at least one variant that is not a shadow")
        weighted = [r for r in serving if r.weight > 0]
        stable = next((r for r in serving if r.role == "stable"), serving[0])
        self.default = stable.model
        if not weighted:
            weighted = [stable]
        total = sum(r.weight for r in weighted) or 1.0
        table: list[Any] = []
        acc = 0.0
        for r in weighted:
            acc += r.weight
            end = round(acc / total * SLOTS)
            table.extend([r.model] * (end - len(table)))
        table.extend([weighted[-1].model] * (SLOTS - len(table)))
        self._table = table

    @property
    def models(self) -> list[Any]:
        return [r.model for r in self.routes]

    def share(self, name: str) -> float:
        """The fraction of table slots a variant holds (for tests and status)."""
        model = next(r.model for r in self.routes if r.name == name)
        return sum(1 for m in self._table if m is model) / SLOTS

    def pick(self, variant: str | None = None, key: str | None = None) -> Any:
        if variant is not None:
            model = self.by_name.get(variant)
            if model is not None:
                return model
        if key is not None:
            return self._table[zlib.crc32(key.encode()) % SLOTS]
        return self._table[int(random.random() * SLOTS)]

    def wants_shadow(self) -> bool:
        return bool(self.shadows) and (
            self.shadow_sample >= 1.0 or random.random() < self.shadow_sample
        )
