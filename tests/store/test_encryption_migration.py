"""Encryption at rest leaves no plaintext behind: ``mainsail encrypt --all`` rewrites blobs
written before the key, a write with the key replaces a plaintext copy, and
``MAINSAIL_REQUIRE_ENCRYPTION`` refuses plaintext on read."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mainsail.core import ConfigurationError, CorruptedArtifactError
from mainsail.store import ArtifactStore
from mainsail.store._crypto import is_encrypted

KEY = bytes(range(32))
KEY_HEX = KEY.hex()


def _raw(store: ArtifactStore, digest: str) -> bytes:
    return Path(store._blob_path(digest)).read_bytes()


def test_plaintext_is_refused_on_read_when_encryption_is_required(tmp_path: Path) -> None:
    root = str(tmp_path / "art")
    old = ArtifactStore(root).put_bytes(b"written before the key")
    store = ArtifactStore(root, encryption_key=KEY)
    assert store.get_bytes(old) == b"written before the key"  # accepted: not required
    strict = ArtifactStore(root, encryption_key=KEY, require_encryption=True)
    with pytest.raises(CorruptedArtifactError, match="plaintext.*mainsail encrypt --all"):
        strict.get_bytes(old)
    new = strict.put_bytes(b"written with the key")
    assert strict.get_bytes(new) == b"written with the key"
    with pytest.raises(ConfigurationError, match="MAINSAIL_ENCRYPTION_KEY"):
        ArtifactStore(root, require_encryption=True)


def test_a_write_with_the_key_replaces_a_plaintext_copy(tmp_path: Path) -> None:
    root = str(tmp_path / "art")
    digest = ArtifactStore(root).put_bytes(b"same content")
    assert not is_encrypted(_raw(ArtifactStore(root), digest))
    store = ArtifactStore(root, encryption_key=KEY)
    assert store.put_bytes(b"same content") == digest
    assert is_encrypted(_raw(store, digest))
    assert store.get_bytes(digest) == b"same content"


def test_encrypt_all_rewrites_every_plaintext_blob(tmp_path: Path) -> None:
    root = str(tmp_path / "art")
    plain = ArtifactStore(root)
    digests = [plain.put_bytes(f"blob {i}".encode()) for i in range(5)]
    store = ArtifactStore(root, encryption_key=KEY)
    already = store.put_bytes(b"already encrypted")
    report = store.encrypt_all()
    assert (sorted(report.encrypted), report.already, report.failed) == (sorted(digests), 1, {})
    for d in [*digests, already]:
        assert is_encrypted(_raw(store, d))
    strict = ArtifactStore(root, encryption_key=KEY, require_encryption=True)
    assert [strict.get_bytes(d) for d in digests] == [f"blob {i}".encode() for i in range(5)]
    assert store.encrypt_all().encrypted == []  # idempotent
    # a damaged plaintext blob is reported, never encrypted as if it were good
    bad = ArtifactStore(root).put_bytes(b"will be damaged")  # no key: stays plaintext
    Path(store._blob_path(bad)).write_bytes(b"tampered")
    report = store.encrypt_all()
    assert list(report.failed) == [bad] and "does not match" in report.failed[bad]
    assert Path(store._blob_path(bad)).read_bytes() == b"tampered"


def test_encrypt_all_without_a_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MAINSAIL_ENCRYPTION_KEY"):
        ArtifactStore(str(tmp_path / "art")).encrypt_all()


def test_the_cli_migrates_and_the_setting_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., tuple[int, str, str]]
) -> None:
    import mainsail

    digest = mainsail.get_context().artifacts.put_bytes(b"old model bytes")
    monkeypatch.setenv("MAINSAIL_ENCRYPTION_KEY", KEY_HEX)
    monkeypatch.setenv("MAINSAIL_REQUIRE_ENCRYPTION", "true")
    mainsail.reset()
    with pytest.raises(CorruptedArtifactError, match="plaintext"):
        mainsail.get_context().artifacts.get_bytes(digest)
    code, out, err = cli("encrypt")
    assert code == 2 and "--all" in err
    code, out, err = cli("encrypt", "--all", "--dry-run", "--json")
    assert code == 0, err
    assert json.loads(out)["plaintext"] == [digest]
    code, out, err = cli("encrypt", "--all", "--json")
    assert code == 0, err
    assert json.loads(out)["encrypted"] == [digest]
    mainsail.reset()
    assert mainsail.get_context().artifacts.get_bytes(digest) == b"old model bytes"


def test_a_pipeline_step_elsewhere_refuses_a_plaintext_input(tmp_path: Path) -> None:
    """Steps run in other processes rebuild the artifact store: the requirement goes along."""
    from mainsail.pipelines._executors import StepTask, execute_task
    from mainsail.pipelines._serialize import store_value

    root = str(tmp_path / "art")
    meta = store_value(ArtifactStore(root), 41)  # written before the key

    def task(require: bool) -> StepTask:
        return StepTask(
            node=0,
            step_name="inc",
            fn=lambda x: x + 1,
            split=lambda v: {"output": v},
            params={},
            inputs={"x": meta},
            allow_pickle=False,
            artifact_root=root,
            encryption_key=KEY,
            require_encryption=require,
        )

    assert execute_task(task(False)).ok
    refused = execute_task(task(True))
    assert not refused.ok and "plaintext" in (refused.error or "")
