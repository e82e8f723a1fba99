"""Encryption at rest for blobs: AES-256-GCM in 1 MiB chunks.

Layout of an encrypted blob::

    b"MSE1" | 8-byte random nonce prefix | chunk* ;  chunk = u32 length | ciphertext+tag

Each chunk's nonce is the prefix plus its 4-byte index, and its associated data is the
index plus a "last chunk" flag, so chunks cannot be reordered, dropped or truncated
without the tag check failing. Digests are computed over the plaintext, so identical
content still deduplicates and reads still verify.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from collections.abc import Iterator
from typing import IO

from mainsail.core._errors import ConfigurationError, CorruptedArtifactError
from mainsail.core._settings import Settings

MAGIC = b"MSE1"
CHUNK = 1 << 20
_LEN = struct.Struct(">I")


def parse_key(text: str) -> bytes:
    """A 32-byte key from 64 hex digits or base64 (standard or URL-safe)."""
    raw = text.strip()
    key: bytes | None = None
    if len(raw) == 64:
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            key = None
    if key is None:
        try:
            key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except (binascii.Error, ValueError):
            key = None
    if key is None or len(key) != 32:
        raise ConfigurationError(
            "MAINSAIL_ENCRYPTION_KEY must be a 256-bit key: 64 hex digits or 44 base64 "
            'characters. Generate one with: python -c "import os,base64;'
            'print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
        )
    return key


class Cipher:
    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)

    def encrypt_chunks(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """Yield the encrypted layout for a stream of plaintext chunks."""
        prefix = os.urandom(8)
        yield MAGIC + prefix
        index = 0
        pending = next(chunks, None)
        while True:
            nxt = next(chunks, None) if pending is not None else None
            last = nxt is None
            data = pending or b""
            nonce = prefix + struct.pack(">I", index)
            ct = self._aead.encrypt(nonce, data, struct.pack(">I?", index, last))
            yield _LEN.pack(len(ct)) + ct
            if last:
                return
            pending, index = nxt, index + 1

    def decrypt_stream(self, src: IO[bytes], name: str) -> Iterator[bytes]:
        """Yield plaintext chunks; raises CorruptedArtifactError on any tampering."""
        from cryptography.exceptions import InvalidTag

        header = src.read(len(MAGIC) + 8)
        if header[: len(MAGIC)] != MAGIC:
            raise CorruptedArtifactError(f"Blob {name} is not an encrypted Mainsail blob.")
        prefix = header[len(MAGIC) :]
        index = 0
        while True:
            raw_len = src.read(4)
            if len(raw_len) < 4:
                raise _tampered(name, "it ends before its last chunk")
            (n,) = _LEN.unpack(raw_len)
            ct = src.read(n)
            if len(ct) != n:
                raise _tampered(name, "a chunk is cut short")
            nonce = prefix + struct.pack(">I", index)
            last = False
            try:
                data = self._aead.decrypt(nonce, ct, struct.pack(">I?", index, False))
            except InvalidTag:
                try:
                    data = self._aead.decrypt(nonce, ct, struct.pack(">I?", index, True))
                    last = True
                except InvalidTag:
                    raise _tampered(name, "a chunk fails its authentication tag") from None
            yield data
            if last:
                if src.read(1):
                    raise _tampered(name, "data follows the last chunk")
                return
            index += 1


def settings_key(settings: Settings) -> bytes | None:
    """The artifact encryption key of ``settings`` (``MAINSAIL_ENCRYPTION_KEY``), or None."""
    if settings.encryption_key is None:
        return None
    return parse_key(settings.encryption_key.get_secret_value())


def is_encrypted(head: bytes) -> bool:
    return head.startswith(MAGIC)


def _tampered(name: str, why: str) -> CorruptedArtifactError:
    return CorruptedArtifactError(
        f"Encrypted blob {name} failed authentication: {why}. It was changed after it was "
        "written, or MAINSAIL_ENCRYPTION_KEY is not the key it was written with. "
        "Nothing was loaded from it."
    )
