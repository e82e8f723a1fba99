"""Registry store methods over SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from mainsail.core import ModelNotFoundError, ModelStateError
from mainsail.store import Database, SqlStore

FIELDS = dict(
    flavor="sklearn",
    manifest_digest="a" * 64,
    files={"m": "b" * 64},
    size_bytes=10,
    signature={},
    task="classification",
    classes=[0, 1],
    metrics={"auc": 0.9},
    datasets=[],
    tags={},
    card={},
    allow_pickle=False,
)


@pytest.fixture
def store(db_url: str):  # type: ignore[no-untyped-def]
    s = SqlStore(Database(db_url))
    yield s
    s.db.dispose()


def test_versions_aliases_history(store: SqlStore) -> None:
    v1 = store.create_model_version("churn", **FIELDS)
    v2 = store.create_model_version("churn", **FIELDS)
    assert (v1.version, v2.version) == (1, 2)
    store.set_alias("churn", "champion", 1, "ana")
    store.create_check_result("churn", 2, verdict="blessed", policy={}, checks=[], summary={})
    store.set_alias("churn", "champion", 2, "bob", require_checks=True)
    assert store.get_model_version("churn", alias="champion").version == 2
    assert [(h.from_version, h.to_version, h.actor) for h in store.alias_history("churn")] == [
        (None, 1, "ana"),
        (1, 2, "bob"),
    ]
    assert store.list_models()[0].aliases == {"champion": 2}
    store.set_version_status("churn", 1, "archived")
    with pytest.raises(ModelStateError):
        store.set_alias("churn", "challenger", 1, None)
    assert store.get_model_version("churn").version == 2
    with pytest.raises(ModelStateError):
        store.delete_model_version("churn", 2)
    with pytest.raises(ModelNotFoundError):
        store.get_model_version("nope", 1)
    files, dirs = store.referenced_digests()
    assert "a" * 64 in dirs


def test_a_deleted_number_is_never_reused(store: SqlStore) -> None:
    for _ in range(3):
        store.create_model_version("churn", **FIELDS)
    store.delete_model_version("churn", 3)
    store.delete_model_version("churn", 2)
    assert store.create_model_version("churn", **FIELDS).version == 4
    assert [v.version for v in store.list_model_versions("churn")] == [1, 4]
