from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mainsail.core import ArtifactNotFoundError, CorruptedArtifactError
from mainsail.store import ArtifactStore, sha256_bytes


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "artifacts"))


def test_round_trip_and_dedup(store: ArtifactStore) -> None:
    d1 = store.put_bytes(b"hello")
    d2 = store.put_bytes(b"hello")
    assert d1 == d2 == sha256_bytes(b"hello")
    assert store.get_bytes(d1) == b"hello"
    assert list(store.iter_digests()) == [d1]


def test_folder_is_a_manifest(store: ArtifactStore, tmp_path: Path) -> None:
    src = tmp_path / "model"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "sub" / "b.txt").write_text("B")
    digest, size = store.put_dir(src)
    assert size == 2
    manifest = store.read_manifest(digest)
    assert sorted(manifest) == ["a.txt", "sub/b.txt"]
    out = store.get_dir(digest, tmp_path / "out")
    assert (out / "sub" / "b.txt").read_text() == "B"


def test_tampered_blob_is_detected(store: ArtifactStore, tmp_path: Path) -> None:
    digest = store.put_bytes(b"precious")
    path = Path(store._blob_path(digest))
    path.write_bytes(b"tampered")
    with pytest.raises(CorruptedArtifactError, match="does not match its digest"):
        store.get_bytes(digest)
    with pytest.raises(CorruptedArtifactError):
        store.get_file(digest, tmp_path / "copy")
    assert not (tmp_path / "copy").exists()


def test_missing_blob_and_bad_digest(store: ArtifactStore) -> None:
    with pytest.raises(ArtifactNotFoundError, match="not there"):
        store.get_bytes("0" * 64)
    with pytest.raises(ArtifactNotFoundError, match="64 lowercase hex"):
        store.get_bytes("../../etc/passwd")


_WRITER = """
import sys, time
from mainsail.store import ArtifactStore

class Slow:
    def __init__(self):
        self.n = 0
    def read(self, size=-1):
        self.n += 1
        if self.n == 3:
            print("writing", flush=True)
        if self.n > 3:
            time.sleep(0.2)
        return b"x" * (1 << 20)

ArtifactStore(sys.argv[1]).put_stream(Slow())
"""


def test_killed_writer_leaves_no_partial_blob(store: ArtifactStore, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, store.root], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert list(store.iter_digests()) == []  # nothing visible under any digest
    staged = list(Path(store.root, "tmp").iterdir())
    assert staged and all(p.name.endswith(".part") for p in staged)
    assert store.clear_staging() == len(staged)


KEY = bytes(range(32))


def test_encrypted_round_trip_and_dedup(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "enc"), encryption_key=KEY)
    big = os.urandom(3 * (1 << 20) + 123)  # several chunks
    for data in (b"", b"small", big):
        digest = store.put_bytes(data)
        assert digest == sha256_bytes(data)  # digest over the plaintext
        assert store.get_bytes(digest) == data
        raw = Path(store._blob_path(digest)).read_bytes()
        assert raw.startswith(b"MSE1") and (not data or data not in raw)
    assert store.put_bytes(b"small") == sha256_bytes(b"small")
    assert len(list(store.iter_digests())) == 3


@pytest.mark.parametrize("damage", ["flip", "truncate", "append"])
def test_tampered_ciphertext_is_detected(tmp_path: Path, damage: str) -> None:
    store = ArtifactStore(str(tmp_path / "enc"), encryption_key=KEY)
    digest = store.put_bytes(os.urandom(2 * (1 << 20) + 5))
    path = Path(store._blob_path(digest))
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[100] ^= 1
    elif damage == "truncate":
        raw = raw[: 4 + 8 + 4 + (1 << 20) + 16]  # drop everything after the first chunk
    else:
        raw += b"x"
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptedArtifactError, match="failed authentication|not the key"):
        store.get_bytes(digest)


def test_wrong_or_missing_key(tmp_path: Path) -> None:
    digest = ArtifactStore(str(tmp_path / "enc"), encryption_key=KEY).put_bytes(b"secret")
    with pytest.raises(CorruptedArtifactError, match="not the key"):
        ArtifactStore(str(tmp_path / "enc"), encryption_key=bytes(32)).get_bytes(digest)
    with pytest.raises(CorruptedArtifactError, match="no key is configured"):
        ArtifactStore(str(tmp_path / "enc")).get_bytes(digest)


def test_bad_key_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from mainsail.core import ConfigurationError
    from mainsail.store._crypto import parse_key

    assert parse_key(KEY.hex()) == KEY
    with pytest.raises(ConfigurationError, match="256-bit key"):
        parse_key("too-short")
