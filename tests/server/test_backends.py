"""Team backends: artifacts on S3 (moto's server on 127.0.0.1) and metadata on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mainsail.client._context import Context
from mainsail.core._settings import Settings
from mainsail.security import create_user_with_token
from mainsail.server import create_app
from mainsail.server._process import free_port
from mainsail.store import ArtifactStore, Database, SqlStore
from mainsail.store._rest_store import RestArtifactStore, RestClient, RestStore


@pytest.fixture
def s3_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    port = free_port()
    srv = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    srv.start()
    for k, v in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }.items():
        monkeypatch.setenv(k, v)
    import boto3

    boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}").create_bucket(
        Bucket="mainsail-test"
    )
    import fsspec

    fsspec.config.conf.pop("s3", None)
    yield "s3://mainsail-test/team"
    srv.stop()


def _serve(ctx: Context) -> Iterator[tuple[RestStore, RestArtifactStore]]:
    token = create_user_with_token(ctx.store, "admin", "admin").token
    with TestClient(create_app(ctx, auth=True)) as client:
        rc = RestClient("http://testserver", token=token, client=client)
        yield RestStore(rc), RestArtifactStore(rc)


def test_server_on_postgres_with_artifacts_on_s3(pg_url: str, s3_root: str, tmp_path: Path) -> None:
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    artifacts = ArtifactStore(s3_root, encryption_key=b"k" * 32)
    ctx = Context(Settings(home=tmp_path), SqlStore(Database(pg_url)), artifacts)
    gen = _serve(ctx)
    store, rest_artifacts = next(gen)
    data = b"model bytes " * 200_000  # 2.4 MB, several chunks
    digest, size = rest_artifacts.put_stream(__import__("io").BytesIO(data))
    assert size == len(data)
    assert rest_artifacts.get_bytes(digest) == data
    assert artifacts.fs.exists(f"mainsail-test/team/blobs/sha256/{digest[:2]}/{digest}")
    raw = artifacts.fs.cat_file(f"mainsail-test/team/blobs/sha256/{digest[:2]}/{digest}")
    assert b"model bytes" not in raw  # encrypted at rest on S3
    folder = tmp_path / "pkg"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("a")
    (folder / "b.txt").write_text("b")
    manifest, _ = rest_artifacts.put_dir(folder)
    out = rest_artifacts.get_dir(manifest, tmp_path / "out")
    assert (out / "sub" / "a.txt").read_text() == "a"
    store.create_run("r" * 32, "team", "on-pg")
    store.add_artifact("r" * 32, "blob", digest, size, "file")
    assert store.get_run("r" * 32).artifacts[0].digest == digest
    with pytest.raises(Exception, match="not there"):
        rest_artifacts.get_bytes("0" * 64)
    gen.close()
    ctx.store.db.dispose()


def test_backup_and_restore_round_trip(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    import mainsail

    mainsail.configure(home=str(tmp_path / "a"))
    with mainsail.start_run(experiment="e") as run:
        mainsail.log_metric("m", 1.0)
        note = tmp_path / "n.txt"
        note.write_text("hi")
        mainsail.log_artifact(note)
    code, out, err = cli("users", "create", "ana", "--role", "developer")
    assert code == 0, err
    code, out, err = cli("backup", str(tmp_path / "bk"))
    assert code == 0, err
    mainsail.configure(home=str(tmp_path / "b"))
    code, out, err = cli("restore", str(tmp_path / "bk"))
    assert code == 0 and "1 artifact blob(s)" in out, err  # the backup holds the blobs
    assert mainsail.get_run(run.id).metrics == {"m": 1.0}
    got = mainsail.download_artifact(run.id, "n.txt", tmp_path / "got")
    assert (got if got.is_file() else got / "n.txt").read_text() == "hi"
    assert [u.name for u in mainsail.client.get_context().store.list_users()] == ["ana"]
    code, out, err = cli("restore", str(tmp_path / "bk"))
    assert code == 1 and "needs an empty database" in err
    code, out, err = cli("db", "upgrade")
    assert code == 0 and "revision" in out
    code, out, err = cli("audit", "--json")
    assert code == 0 and "users.create" in out
