"""Endpoints, their revisions, rollouts and per-replica serving stats (next to the database).

A rollout moves traffic by appending endpoint revisions. Every write that appends a revision
and records the rollout that caused it is one store method, hence one transaction: a deploy
(:meth:`RolloutStore.create_rollout` with a ``revision``) and a rollout transition
(:meth:`RolloutStore.update_rollout` with a ``revision``). Nothing outside the store opens a
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class RevisionDraft:
    """An endpoint revision to append: its variants (as dicts), the strategy that made it,
    why, and who asked."""

    variants: Sequence[dict[str, Any]]
    strategy: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    actor: str | None = None


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
    ) -> int:
        """Append a revision and make it current; an unknown endpoint is created only with
        ``create`` (else :class:`EndpointNotFoundError`)."""
        ...

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
        *,
        revision: RevisionDraft | None = None,
        create_endpoint: bool = False,
    ) -> int:
        """Record a rollout; returns its id.

        With ``revision`` the revision is appended first, in the same transaction, and
        becomes the rollout's ``to_revision``; ``create_endpoint`` creates an unknown endpoint
        for it (a first deploy).
        """
        ...

    def update_rollout(
        self,
        rollout_id: int,
        expect: dict[str, Any] | None = None,
        revision: RevisionDraft | None = None,
        **fields: Any,
    ) -> bool:
        """Set ``fields`` on a rollout; with ``expect`` only if those columns still hold
        those values. With ``revision`` the rollout's endpoint gets it, in the same
        transaction, and it becomes the rollout's ``to_revision``.

        Returns ``False`` (and writes nothing, not even the revision) when ``expect`` no
        longer matched: someone else moved the rollout first.
        """
        ...

    def get_rollout_record(
        self, endpoint: str, rollout_id: int | None = None
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


__all__ = ["RevisionDraft", "RolloutStore", "ServingStatsStore"]
