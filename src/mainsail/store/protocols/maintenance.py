"""The store's own health, and the operator's work next to the database: backup and restore."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from mainsail.store._artifacts import ArtifactStore


@dataclass(frozen=True)
class BackupReport:
    """What a backup wrote: tables, rows, blobs listed in the artifact manifest, and whether
    (and how many bytes of) the blobs were copied into the backup."""

    tables: int
    rows: int
    blobs: int
    blobs_copied: bool = True
    blob_bytes: int = 0


@dataclass(frozen=True)
class RestoreReport:
    """What a restore loaded: tables, rows and blobs copied into the artifact store.
    ``missing`` is always empty: a restore that lacks a blob refuses before writing."""

    tables: int
    rows: int
    missing: list[str] = field(default_factory=list)
    blobs: int = 0


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

    def backup(self, artifacts: ArtifactStore, out: Path, copy_blobs: bool = True) -> BackupReport:
        """Write every table (one snapshot), the artifact blobs (unless ``copy_blobs`` is
        false) and their manifest to the new or empty folder ``out``."""
        ...

    def restore(self, artifacts: ArtifactStore, folder: Path) -> RestoreReport:
        """Verify a backup, then load it into this empty database and ``artifacts``, all or
        nothing."""
        ...
