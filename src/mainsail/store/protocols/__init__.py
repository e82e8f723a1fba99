"""The store, one protocol per domain.

Two composites are what the rest of Mainsail types against:

- :class:`Store`: what both implementations provide, the SQL store (embedded, or inside the
  server) and the REST store (a client of a Mainsail server). ``Context.store`` is a
  ``Store``; the contract suite in ``tests/store`` runs each of these protocols over
  SQLite, PostgreSQL, REST-over-SQLite and REST-over-PostgreSQL.
- :class:`LocalStore`: a ``Store`` next to the database, plus what only runs there
  (controllers' records, serving stats, the reaper, authentication and audit). Only the SQL
  store provides it; ``Context.database()`` returns it, or says where to run the work.

Operations that must run next to the data but are asked for by clients (deploy, a
server-side check, a monitor run) are not store methods: they are services with a local and
a remote implementation (:class:`mainsail.store.Service`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mainsail.store.protocols.artifacts import BlobScopeStore
from mainsail.store.protocols.automation import AutomationRecords, AutomationStore
from mainsail.store.protocols.checks import CheckStore
from mainsail.store.protocols.datasets import DatasetStore
from mainsail.store.protocols.explore import ExploreStore
from mainsail.store.protocols.jobs import JobClaimStore, JobQueueAdmin, JobStore
from mainsail.store.protocols.leader import LeaderLockHandle, LeaderStore
from mainsail.store.protocols.maintenance import MaintenanceStore, StoreHealth
from mainsail.store.protocols.monitoring import MonitorRunStore, MonitorStore
from mainsail.store.protocols.pipelines import PipelineStore
from mainsail.store.protocols.registry import RegistryStore
from mainsail.store.protocols.rollout import RevisionDraft, RolloutStore, ServingStatsStore
from mainsail.store.protocols.security import AuthStore, SecurityStore
from mainsail.store.protocols.tracking import MetricRow, TrackingStore


@runtime_checkable
class Store(
    TrackingStore,
    DatasetStore,
    RegistryStore,
    PipelineStore,
    JobStore,
    JobClaimStore,
    CheckStore,
    MonitorStore,
    AutomationStore,
    SecurityStore,
    StoreHealth,
    Protocol,
):
    """Every protocol both the SQL and the REST store implement."""

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class LocalStore(
    Store,
    JobQueueAdmin,
    RolloutStore,
    ServingStatsStore,
    MonitorRunStore,
    AutomationRecords,
    AuthStore,
    LeaderStore,
    BlobScopeStore,
    MaintenanceStore,
    ExploreStore,
    Protocol,
):
    """A store next to the database: everything in :class:`Store` and what only runs there."""


__all__ = [
    "AuthStore",
    "AutomationRecords",
    "AutomationStore",
    "BlobScopeStore",
    "CheckStore",
    "DatasetStore",
    "ExploreStore",
    "JobClaimStore",
    "JobQueueAdmin",
    "JobStore",
    "LeaderLockHandle",
    "LeaderStore",
    "LocalStore",
    "MaintenanceStore",
    "MetricRow",
    "MonitorRunStore",
    "MonitorStore",
    "PipelineStore",
    "RegistryStore",
    "RevisionDraft",
    "RolloutStore",
    "SecurityStore",
    "ServingStatsStore",
    "Store",
    "StoreHealth",
    "TrackingStore",
]
