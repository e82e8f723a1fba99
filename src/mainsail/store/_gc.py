"""Garbage collection: remove blobs that nothing in the metadata store references."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mainsail.core._errors import MainsailError
from mainsail.store._artifacts import ArtifactStore
from mainsail.store.protocols import Store


@dataclass
class GcReport:
    referenced: int = 0
    unreferenced: list[str] = field(default_factory=list)
    too_young: int = 0
    freed_bytes: int = 0
    deleted: bool = False
    staging_cleared: int = 0


def collect_garbage(
    store: Store, artifacts: ArtifactStore, dry_run: bool = True, min_age_s: float = 3600
) -> GcReport:
    """Find (and unless ``dry_run``, delete) blobs no run, dataset or manifest references.

    Blobs younger than ``min_age_s`` are kept: a writer may have stored one and not yet
    recorded it.
    """
    files, dirs = store.referenced_digests()
    referenced = set(files) | set(dirs)
    for manifest in dirs:
        try:
            referenced |= {e["digest"] for e in artifacts.read_manifest(manifest).values()}
        except MainsailError:
            continue  # a missing/corrupted manifest cannot protect anything
    report = GcReport(referenced=len(referenced))
    now = time.time()
    for digest in artifacts.iter_digests():
        if digest in referenced:
            continue
        if min_age_s > 0:
            modified = artifacts.fs.modified(artifacts._blob_path(digest)).timestamp()
            if now - modified < min_age_s:
                report.too_young += 1
                continue
        report.unreferenced.append(digest)
        report.freed_bytes += artifacts.size(digest)
    if not dry_run:
        for digest in report.unreferenced:
            artifacts.delete(digest)
        report.staging_cleared = artifacts.clear_staging() if min_age_s == 0 else 0
        report.deleted = True
    return report
