"""The SQL store's health and its backup and restore; mixed into ``SqlStore``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mainsail.store._backup import read_backup, write_backup
from mainsail.store.protocols.maintenance import BackupReport, RestoreReport

if TYPE_CHECKING:
    from mainsail.store._artifacts import ArtifactStore
    from mainsail.store._db import Database


class MaintenanceMixin:
    """``StoreHealth`` and ``MaintenanceStore`` over SQL."""

    db: Database

    def schema_revision(self) -> str | None:
        return self.db.current_revision()  # a read: it fails when the database does not answer

    def backup(self, artifacts: ArtifactStore, out: Path, copy_blobs: bool = True) -> BackupReport:
        return write_backup(self.db, artifacts, out, copy_blobs)

    def restore(self, artifacts: ArtifactStore, folder: Path) -> RestoreReport:
        return read_backup(self.db, artifacts, folder)
