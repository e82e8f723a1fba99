"""The store contract for release-check results: record on a version, list, read back.

The ``store`` fixture (tests/store/conftest.py) runs every test over the SQL stores (SQLite,
PostgreSQL) and the REST store against a server in process over each. A result recorded
through a server is one a client computed: the server records its caller as
``created_by``, marks ``summary["computed_by"] = "client"`` and writes the reason the
verdict rule gives (the ``require_checks`` gate ignores such results; tests/remote covers
that). Everything else reads back the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mainsail.checks import decide_verdict
from mainsail.core import InvalidValueError, ModelNotFoundError
from mainsail.store import SqlStore
from mainsail.store.protocols import CheckStore, Store

ROW_KEYS = {
    "id",
    "model",
    "version",
    "verdict",
    "baseline_version",
    "data_ref",
    "policy",
    "checks",
    "summary",
    "report_digest",
    "html_digest",
    "created_by",
    "created_at",
}
POLICY = {"seed": 0, "metrics": {"accuracy": {"min": 0.7}}}
PASS = {"name": "metrics.accuracy", "kind": "metrics", "status": "pass", "value": 0.9,
        "threshold": 0.7, "detail": "", "data": {}}  # fmt: skip
FAIL = {**PASS, "status": "fail", "value": 0.5}


def _context(store: Any, tmp_path: Path) -> Any:
    from mainsail.core._settings import Settings
    from mainsail.store import ArtifactStore, Context
    from mainsail.store._rest_store import RestArtifactStore, RestStore

    settings = Settings(home=tmp_path / "client")
    if isinstance(store, RestStore):
        client = store.client
        return Context(settings, store, RestArtifactStore(client), remote=client)
    return Context(settings, store, ArtifactStore(str(tmp_path / "artifacts")))


@pytest.fixture
def versions(store: SqlStore, tmp_path: Path) -> Any:
    """Model ``m`` with versions 1 and 2 (a tiny classifier), and a context over ``store``."""
    from sklearn.linear_model import LogisticRegression

    from mainsail.registry import register_model

    ctx = _context(store, tmp_path)
    X = pd.DataFrame({"a": np.arange(20.0)})
    model = LogisticRegression().fit(X, (X["a"] > 9).astype(int))
    for _ in range(2):
        register_model(ctx, model, name="m", input_example=X.head())
    return ctx


def _fields(ctx: Any, checks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    verdict, reason = decide_verdict([_outcome(c) for c in checks], ["metrics"])
    return {
        "verdict": verdict,
        "baseline_version": None,
        "data_ref": "datasets:/holdout/1",
        "policy": POLICY,
        "checks": checks,
        "summary": {"reason": reason, "rows": 200},
        "report_digest": ctx.artifacts.put_bytes(b'{"report": 1}'),
        "html_digest": None,
        "created_by": "ana",
        **extra,
    }


def _outcome(c: dict[str, Any]) -> Any:
    from mainsail.checks import CheckOutcome

    return CheckOutcome.model_validate(c)


def _remote(store: Any) -> bool:
    from mainsail.store._rest_store import RestStore

    return isinstance(store, RestStore)


def test_both_stores_are_check_stores(store: SqlStore) -> None:
    assert isinstance(store, CheckStore) and isinstance(store, Store)


def test_record_list_and_read(store: SqlStore, versions: Any) -> None:
    fields = _fields(versions, [PASS])
    row = store.create_check_result("m", 2, **fields)
    assert set(row) == ROW_KEYS
    assert (row["model"], row["version"], row["verdict"]) == ("m", 2, "blessed")
    for key in ("baseline_version", "data_ref", "policy", "checks", "report_digest"):
        assert row[key] == fields[key], key
    assert row["html_digest"] is None and row["created_at"] > 0
    summary = dict(row["summary"])
    computed_by = summary.pop("computed_by", None)
    assert summary == fields["summary"]
    if _remote(store):  # recorded by a client: marked, and recorded as the caller's
        assert (computed_by, row["created_by"]) == ("client", "admin")
    else:
        assert (computed_by, row["created_by"]) == (None, "ana")
    assert store.get_check_result(row["id"]) == row
    assert store.list_check_results("m", 2) == [row]


def test_listing_is_newest_first_per_version_or_model(store: SqlStore, versions: Any) -> None:
    a = store.create_check_result("m", 1, **_fields(versions, [FAIL]))
    b = store.create_check_result("m", 2, **_fields(versions, [PASS], baseline_version=1))
    c = store.create_check_result("m", 2, **_fields(versions, [FAIL]))
    assert (a["verdict"], b["verdict"], b["baseline_version"]) == ("rejected", "blessed", 1)
    assert [r["id"] for r in store.list_check_results("m")] == [c["id"], b["id"], a["id"]]
    assert [r["id"] for r in store.list_check_results("m", 2)] == [c["id"], b["id"]]
    assert [r["id"] for r in store.list_check_results("m", 1)] == [a["id"]]
    assert [r["id"] for r in store.list_check_results("m", limit=2)] == [c["id"], b["id"]]
    assert [r["id"] for r in store.list_check_results("m", 2, limit=1)] == [c["id"]]


def test_unknown_models_versions_and_results(store: SqlStore, versions: Any) -> None:
    assert store.list_check_results("m", 1) == []
    assert store.get_check_result(987654) is None
    assert store.get_check_result(0) is None
    with pytest.raises(ModelNotFoundError, match="No model named 'nope'"):
        store.list_check_results("nope")
    with pytest.raises(ModelNotFoundError, match="has no version 9"):
        store.list_check_results("m", 9)
    with pytest.raises(ModelNotFoundError):
        store.create_check_result("m", 9, **_fields(versions, [PASS]))
    with pytest.raises(ModelNotFoundError):
        store.create_check_result("nope", 1, **_fields(versions, [PASS]))
    assert store.list_check_results("m") == []  # nothing was recorded


def test_unknown_fields_are_refused(store: SqlStore, versions: Any) -> None:
    with pytest.raises(InvalidValueError):
        store.create_check_result("m", 1, **_fields(versions, [PASS]), approved=True)
    assert store.list_check_results("m", 1) == []
