"""Endpoints, their revisions, rollouts and per-replica serving stats (next to the database)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


@runtime_checkable
class RolloutStore(Protocol):
    def add_endpoint_revision(
        self,
        name: str,
        variants: Sequence[dict[str, Any]],
        strategy: dict[str, Any],
        reason: str | None = None,
        actor: str | None = None,
        create: bool = False,
        conn: Connection | None = None,
    ) -> int: ...
    def get_endpoint_record(self, name: str, history: bool = True) -> dict[str, Any]: ...
    def get_revision(self, name: str, revision: int | None = None) -> dict[str, Any] | None: ...
    def list_endpoint_records(self) -> list[dict[str, Any]]: ...
    def create_rollout(
        self,
        endpoint: str,
        strategy: str,
        spec: dict[str, Any],
        state: str,
        source: str | None,
        actor: str | None,
        from_revision: int | None,
        to_revision: int | None = None,
        next_at: int | None = None,
        message: str | None = None,
        conn: Connection | None = None,
    ) -> int: ...
    def update_rollout(
        self,
        rollout_id: int,
        conn: Connection | None = None,
        expect: dict[str, Any] | None = None,
        **fields: Any,
    ) -> bool: ...
    def get_rollout_record(
        self, endpoint: str, rollout_id: int | None = None, conn: Connection | None = None
    ) -> dict[str, Any] | None: ...
    def list_rollout_records(
        self, endpoint: str | None = None, states: Sequence[str] | None = None, limit: int = 100
    ) -> list[dict[str, Any]]: ...


@runtime_checkable
class ServingStatsStore(Protocol):
    def write_serving_stats(self, rows: Sequence[dict[str, Any]]) -> None: ...
    def read_serving_stats(
        self, endpoint: str, since_ms: int = 0, until_ms: int | None = None
    ) -> list[dict[str, Any]]: ...
    def delete_serving_stats(self, before_ms: int) -> int: ...
