"""Which metadata references a blob: what reading a blob through the server is scoped by."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class BlobScopeStore(Protocol):
    """Who may read a blob: the projects that reference it, and who uploaded it."""

    def blob_projects(self, digest: str) -> set[str]:
        """The projects whose metadata references ``digest`` directly: a run's experiment
        (a run artifact), a dataset (a version's table), a model (a version's folder manifest,
        or a check report) and an endpoint (a monitor report)."""
        ...

    def uploaded_blob(self, actor: str, digest: str) -> bool:
        """Whether ``actor`` uploaded ``digest`` (a successful upload in the audit log)."""
        ...
