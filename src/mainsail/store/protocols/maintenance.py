"""The store's own health, and the operator's work next to the database: backup and restore."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from mainsail.store._artifacts import ArtifactStore


@dataclass(frozen=True)
class BackupReport:
    """What a backup wrote: tables, rows, and blobs listed in the artifact manifest."""

    tables: int
    rows: int
    blobs: int


@dataclass(frozen=True)
class RestoreReport:
    """What a restore loaded, and the manifest's blobs the artifact store lacks."""

    tables: int
    rows: int
    missing: list[str] = field(default_factory=list)


@runtime_checkable
class StoreHealth(Protocol):
    def schema_revision(self) -> str | None:
        """Ask the store to answer, and return its schema revision (``None``: no schema yet).

        Raises :class:`~mainsail.core.StoreUnavailableError` when it does not answer.
        """
        ...


@runtime_checkable
class MaintenanceStore(Protocol):
    """Backup and restore of every metadata table (only next to the database)."""

    def backup(self, artifacts: ArtifactStore, out: Path) -> BackupReport:
        """Write every table and the artifact manifest to the new or empty folder ``out``."""
        ...

    def restore(self, artifacts: ArtifactStore, folder: Path) -> RestoreReport:
        """Load a backup into this empty database; report blobs the manifest lists but
        ``artifacts`` does not hold."""
        ...
