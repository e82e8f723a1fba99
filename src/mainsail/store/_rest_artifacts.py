"""Artifacts through a Mainsail server: streamed uploads and downloads, verified here."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import IO, BinaryIO

from mainsail.core._errors import CorruptedArtifactError, MainsailError
from mainsail.store._artifacts import ArtifactStore, _check_digest
from mainsail.store._rest_client import API, RestClient, error_from

_CHUNK = 1 << 20


class RestArtifactStore(ArtifactStore):
    """Artifacts through the server: uploads and downloads are streamed, reads verified here.

    The server holds the storage (a folder or S3) and the encryption key; this client only
    streams plaintext to and from it, checking every digest it receives.
    """

    def __init__(self, client: RestClient) -> None:  # no local root
        self.client = client
        self.cipher = None
        self.root_url = f"{client.url}{API}/artifacts"
        self.is_local = False

    def put_stream(self, stream: BinaryIO | IO[bytes]) -> tuple[str, int]:
        def chunks() -> Iterator[bytes]:
            while chunk := stream.read(_CHUNK):
                yield chunk

        data = self.client.json(
            "POST",
            "/artifacts",
            content=chunks(),
            headers={"Content-Type": "application/octet-stream"},
        )
        return str(data["digest"]), int(data["size"])

    def put_bytes(self, data: bytes) -> str:
        return str(
            self.client.json(
                "POST",
                "/artifacts",
                content=data,
                headers={"Content-Type": "application/octet-stream"},
            )["digest"]
        )

    def _read_plain(self, digest: str, via: str | None = None) -> Iterator[bytes]:
        _check_digest(digest)
        if via is not None:
            _check_digest(via)
        h = hashlib.sha256()
        params = {"via": via} if via is not None else None
        with self.client.http.stream("GET", f"{API}/artifacts/{digest}", params=params) as resp:
            if resp.status_code >= 400:
                resp.read()
                raise error_from(resp)
            for chunk in resp.iter_bytes(_CHUNK):
                h.update(chunk)
                yield chunk
        if h.hexdigest() != digest:
            raise CorruptedArtifactError(
                f"Blob sha256:{digest} from {self.client.url} did not match its digest on "
                "arrival (cut or changed in transit, or damaged on the server). Nothing was "
                "loaded from it; try again, and check the server's artifact store."
            )

    def exists(self, digest: str) -> bool:
        return bool(self.client.json("GET", f"/artifacts/{digest}/exists")["exists"])

    def iter_digests(self) -> Iterator[str]:
        raise MainsailError(
            "Listing or deleting blobs is done on the server ('mainsail gc' there), "
            "not through MAINSAIL_TRACKING_URI."
        )

    def delete(self, digest: str) -> None:
        self.iter_digests()

    def size(self, digest: str) -> int:
        return len(self.get_bytes(digest))

    def clear_staging(self) -> int:
        return 0


__all__ = ["RestArtifactStore"]
