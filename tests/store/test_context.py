from __future__ import annotations

from pathlib import Path

import pytest

from mainsail.core import ConfigurationError, Settings
from mainsail.store import ArtifactStore, Context, Database, LocalStore, Service, SqlStore, Store


def _sql(tmp_path: Path) -> Context:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    return Context(Settings(home=tmp_path), SqlStore(db), ArtifactStore(str(tmp_path / "a")))


def test_sql_store_is_both_store_and_local_store(tmp_path: Path) -> None:
    ctx = _sql(tmp_path)
    assert isinstance(ctx.store, Store) and isinstance(ctx.store, LocalStore)
    assert not ctx.is_remote
    assert ctx.database("x") is ctx.store
    ctx.close()


def test_rest_store_is_a_store_and_not_a_local_one(tmp_path: Path) -> None:
    from mainsail.store._rest_store import RestArtifactStore, RestClient, RestStore

    client = RestClient("http://127.0.0.1:9")
    store = RestStore(client)
    assert isinstance(store, Store)
    assert not isinstance(store, LocalStore)
    ctx = Context(
        Settings(home=tmp_path, tracking_uri="http://127.0.0.1:9"),
        store,
        RestArtifactStore(client),
        remote=client,
    )
    with pytest.raises(
        ConfigurationError, match=r"The reaper needs the metadata database.*127\.0\.0\.1:9"
    ):
        ctx.database("The reaper")
    ctx.close()


class _Local:
    def __init__(self, ctx: Context) -> None:
        self.where = "local"


class _Remote:
    def __init__(self, ctx: Context) -> None:
        assert ctx.remote is not None
        self.where = "remote"


def test_a_service_is_built_once_per_context_by_where_it_stands(tmp_path: Path) -> None:
    spec: Service[_Local | _Remote] = Service("demo", local=_Local, remote=_Remote)
    ctx = _sql(tmp_path)
    first = ctx.service(spec)
    assert first.where == "local" and ctx.service(spec) is first
    assert _sql(tmp_path / "other").service(spec) is not first
    ctx.close()


def test_a_service_may_name_its_implementations_lazily(tmp_path: Path) -> None:
    spec: Service[object] = Service("lazy", local="collections:OrderedDict", remote="builtins:dict")
    ctx = _sql(tmp_path)
    with pytest.raises(TypeError):  # OrderedDict(ctx) is not a mapping: the factory was called
        ctx.service(spec)
    ctx.close()
