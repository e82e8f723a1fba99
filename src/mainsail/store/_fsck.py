"""Check that every blob the metadata references is in the artifact store and verifies."""

from __future__ import annotations

from dataclasses import dataclass, field

from mainsail.core._errors import ArtifactNotFoundError, MainsailError
from mainsail.store._artifacts import ArtifactStore
from mainsail.store.protocols import Store


@dataclass
class BlobCheck:
    """``referenced`` blobs; those ``missing`` from the store and those that do not verify
    (``damaged``: digest mismatch, failed decryption, plaintext where encryption is
    required), each with the reason."""

    referenced: int = 0
    verified: int = 0
    missing: list[str] = field(default_factory=list)
    damaged: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.damaged


def check_blobs(store: Store, artifacts: ArtifactStore, verify: bool = True) -> BlobCheck:
    """Every referenced blob (runs, datasets, model files, folder manifests and what they
    list) exists, and with ``verify`` reads back to its digest.

    Examples
    --------
    >>> check_blobs(ctx.store, ctx.artifacts).ok  # doctest: +SKIP
    True
    """
    files, dirs = store.referenced_digests()
    referenced = set(files) | set(dirs)
    report = BlobCheck()
    for manifest in sorted(dirs):
        try:
            referenced |= {e["digest"] for e in artifacts.read_manifest(manifest).values()}
        except ArtifactNotFoundError:
            continue  # reported below as missing
        except MainsailError as exc:
            report.damaged[manifest] = exc.message
    report.referenced = len(referenced)
    for digest in sorted(referenced):
        if digest in report.damaged:
            continue
        if not artifacts.exists(digest):
            report.missing.append(digest)
            continue
        if not verify:
            continue
        try:
            for _ in artifacts.stream(digest):  # the digest is checked at the end
                pass
            report.verified += 1
        except MainsailError as exc:
            report.damaged[digest] = exc.message
    return report
