"""Blobs are scoped by project like the metadata that points at them (auth on, in process)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mainsail.client._context import Context
from mainsail.core._errors import InvalidValueError, PermissionDeniedError
from mainsail.core._settings import Settings
from mainsail.security import create_user_with_token
from mainsail.server import create_app
from mainsail.store._rest_store import RestArtifactStore, RestClient, RestStore


@pytest.fixture
def people(server_ctx: Context) -> dict[str, str]:
    """name -> token: developers and viewers bound to one project each, and an admin."""
    s = server_ctx.store
    return {
        "alice": create_user_with_token(s, "alice", "developer", project="alpha").token,
        "bob": create_user_with_token(s, "bob", "developer", project="beta").token,
        "carol": create_user_with_token(s, "carol", "viewer", project="alpha").token,
        "dave": create_user_with_token(s, "dave", "viewer", project="beta").token,
        "root": create_user_with_token(s, "root", "admin").token,
    }


@pytest.fixture
def as_user(
    server_ctx: Context, people: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[str], Context]]:
    """name -> an SDK context talking to the in-process server with that user's token."""
    from fastapi.testclient import TestClient

    app = create_app(server_ctx, auth=True)
    opened: list[Any] = []

    def make(name: str) -> Context:
        http = TestClient(app, raise_server_exceptions=False)
        opened.append(http)
        client = RestClient("http://testserver", token=people[name], client=http)
        settings = Settings(home=tmp_path / f"client-{name}")
        return Context(settings, RestStore(client), RestArtifactStore(client), remote=client)

    yield make
    for http in opened:
        http.close()


def _status(ctx: Context, digest: str, via: str | None = None) -> int:
    params = {"via": via} if via else None
    http = ctx.artifacts.client.http  # type: ignore[attr-defined]
    return int(http.get(f"/api/v1/artifacts/{digest}", params=params).status_code)


def test_uploader_reads_own_blob_and_others_do_not(as_user: Callable[[str], Context]) -> None:
    alice, bob, root = as_user("alice"), as_user("bob"), as_user("root")
    digest = alice.artifacts.put_bytes(b"alice's private bytes")
    # read straight after the upload: the audit event that proves ownership is already there
    assert alice.artifacts.get_bytes(digest) == b"alice's private bytes"
    assert root.artifacts.get_bytes(digest) == b"alice's private bytes"
    with pytest.raises(PermissionDeniedError, match="viewer role on a project that references"):
        bob.artifacts.get_bytes(digest)
    assert bob.artifacts.exists(digest)  # existence is not scoped (deduplication)


def test_run_artifacts_follow_the_experiment(
    as_user: Callable[[str], Context], tmp_path: Path
) -> None:
    alice, carol, dave = as_user("alice"), as_user("carol"), as_user("dave")
    run_id = _run(alice)
    digest, size = alice.artifacts.put_file(_write(tmp_path / "a.txt", b"metrics table"))
    alice.store.add_artifact(run_id, "a.txt", digest, size, "file")
    assert carol.artifacts.get_bytes(digest) == b"metrics table"
    assert _status(dave, digest) == 403


def test_model_files_are_read_through_their_manifest(
    as_user: Callable[[str], Context],
) -> None:
    from sklearn.linear_model import LogisticRegression

    from mainsail.registry._registry import load_model, register_model

    alice, carol, dave = as_user("alice"), as_user("carol"), as_user("dave")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = (df.a > 0).astype(int)
    mv = register_model(alice, LogisticRegression().fit(df, y), name="alpha", input_example=df)
    # carol (viewer on alpha) loads it: the manifest is the model's, its files come via it
    loaded = load_model(carol, "models:/alpha/1")
    assert (loaded.predict(df.head(5)) == LogisticRegression().fit(df, y).predict(df.head(5))).all()
    manifest = mv.manifest_digest
    file_digest = next(iter(mv.files.values()))
    assert _status(carol, file_digest) == 403  # not on its own: only through the manifest
    assert _status(carol, file_digest, via=manifest) == 200
    assert _status(dave, manifest) == 403
    assert _status(dave, file_digest, via=manifest) == 403  # the manifest is not dave's


def test_via_must_list_the_blob(as_user: Callable[[str], Context], tmp_path: Path) -> None:
    alice, carol = as_user("alice"), as_user("carol")
    run_id = _run(alice)
    folder = tmp_path / "folder"
    _write(folder / "x.txt", b"inside")
    manifest, size = alice.artifacts.put_dir(folder)
    alice.store.add_artifact(run_id, "folder", manifest, size, "dir")
    other = alice.artifacts.put_bytes(b"not in the folder")
    assert _status(carol, other, via=manifest) == 403
    assert _status(carol, other, via="not-a-digest") == 422
    out = carol.artifacts.get_dir(manifest, tmp_path / "dl")
    assert (out / "x.txt").read_bytes() == b"inside"


def _run(ctx: Context) -> str:
    run_id = uuid.uuid4().hex
    ctx.store.create_run(run_id, "alpha", "r")
    return run_id


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


MANIFEST = "application/vnd.mainsail.manifest+json"


def _fake_manifest(ctx: Context, *digests: str) -> str:
    import orjson

    files = {f"f{i}": {"digest": d, "size": 1} for i, d in enumerate(digests)}
    return str(ctx.artifacts.put_bytes(orjson.dumps({"media_type": MANIFEST, "files": files})))


def test_a_forged_manifest_opens_nothing(as_user: Callable[[str], Context]) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    secret = alice.artifacts.put_bytes(b"alpha secret")
    fake = _fake_manifest(bob, secret)  # bob uploaded it, but no project references it
    assert _status(bob, secret, via=fake) == 403
    # and bob cannot make his project reference it: the reference is checked when written
    run_id = uuid.uuid4().hex
    bob.store.create_run(run_id, "beta", "r")
    with pytest.raises(PermissionDeniedError, match="may not read blob"):
        bob.store.add_artifact(run_id, "folder", fake, 10, "dir")
    assert _status(bob, secret, via=fake) == 403


def test_writing_a_reference_needs_read_access(as_user: Callable[[str], Context]) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    secret = alice.artifacts.put_bytes(b"alpha secret 2")
    run_id = uuid.uuid4().hex
    bob.store.create_run(run_id, "beta", "r")
    with pytest.raises(PermissionDeniedError, match="may not read blob"):
        bob.store.add_artifact(run_id, "x", secret, 14, "file")
    with pytest.raises(PermissionDeniedError, match="may not read blob"):
        bob.store.create_dataset_version(
            "beta",
            digest="0" * 64,
            blob_digest=secret,
            format="parquet",
            row_count=1,
            schema={},
            profile={},
        )
    assert _status(bob, secret) == 403
    # a folder reference must be a manifest
    mine = bob.artifacts.put_bytes(b"not a manifest")
    with pytest.raises(InvalidValueError, match="folder manifest"):
        bob.store.add_artifact(run_id, "folder", mine, 14, "dir")
    # the owner still can
    own = uuid.uuid4().hex
    alice.store.create_run(own, "alpha", "r")
    alice.store.add_artifact(own, "x", secret, 14, "file")


def test_via_that_is_not_a_manifest_is_a_403_not_a_500(
    as_user: Callable[[str], Context],
) -> None:
    import orjson

    alice, carol = as_user("alice"), as_user("carol")
    secret = alice.artifacts.put_bytes(b"alpha secret 3")
    run_id = _run(alice)
    for body in (b"not json at all", orjson.dumps({"media_type": MANIFEST})):
        blob = alice.artifacts.put_bytes(body)
        alice.store.add_artifact(run_id, f"f-{blob[:6]}", blob, len(body), "file")
        assert _status(carol, secret, via=blob) in (200, 403)  # never a 500
        assert _status(as_user("dave"), secret, via=blob) == 403
