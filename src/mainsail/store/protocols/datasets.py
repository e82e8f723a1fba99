"""Dataset versions: content-addressed table snapshots with schema and profile."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from mainsail.core._schemas import Dataset, DatasetVersion


@runtime_checkable
class DatasetStore(Protocol):
    def create_dataset_version(self, name: str, **fields: Any) -> tuple[DatasetVersion, bool]: ...
    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion: ...
    def list_datasets(self) -> list[Dataset]: ...
    def list_dataset_versions(self, name: str) -> list[DatasetVersion]: ...
    def referenced_digests(self) -> tuple[set[str], set[str]]:
        """Blob digests that datasets and runs (first) and models (second) reference."""
        ...
