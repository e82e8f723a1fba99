"""Release checks behave the same embedded and against a server.

Remotely, a check on a registered dataset runs on the server (``checks.run``); one on a
DataFrame, or with a custom check of this process, runs here and is recorded on the server
(``checks.record``, marked as computed by the client), and the ``require_checks`` alias
gate ignores it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.checks import CheckOutcome, register_check, unregister_check
from mainsail.core._errors import (
    InvalidValueError,
    ModelNotFoundError,
    ModelStateError,
    NotFoundError,
    PermissionDeniedError,
)

POLICY: dict[str, Any] = {
    "label": "y",
    "metrics": {"accuracy": {"min": 0.7}},
    "baseline": {"metric": "accuracy", "margin": -0.05, "n_boot": 100},
}


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"])
    df["y"] = (df["a"] + 0.3 * df["b"] > 0).astype(int)
    return df


def setup_models(unique: str) -> tuple[str, str, pd.DataFrame]:
    """Model m-UNIQUE: v1 learned nothing (champion), v2 is good; holdout h-UNIQUE/1."""
    from sklearn.linear_model import LogisticRegression

    train, holdout = frame(300, 1), frame(200, 2)
    X, y = train[["a", "b"]], train["y"]
    bad = LogisticRegression().fit(X, np.random.default_rng(0).permutation(y.to_numpy()))
    good = LogisticRegression().fit(X, y)
    name = f"m-{unique}"
    mainsail.register_model(bad, name=name, input_example=X.head())
    mainsail.register_model(good, name=name, input_example=X.head())
    mainsail.set_alias(name, "champion", 1)
    mainsail.log_dataset(holdout, name=f"h-{unique}")
    return name, f"datasets:/h-{unique}/1", holdout


def audit(action: str, target: str) -> list[Any]:
    api = mainsail.get_context().remote
    assert api is not None
    return list(api.json("GET", "/audit", params={"action": action, "target": target}))


def test_check_on_a_registered_dataset(sdk_mode: str, unique: str, tmp_path: Path) -> None:
    name, data, _ = setup_models(unique)
    res = mainsail.check(
        f"{name}/2", data, baseline="@champion", policy=POLICY, out_dir=tmp_path / "r"
    )
    assert (res.verdict, res.blessed, res.baseline_version) == ("blessed", True, 1)
    assert res.id > 0 and res.data_ref == data
    assert {c.kind for c in res.checks} >= {"metrics", "baseline"}
    assert json.loads((tmp_path / "r" / "report.json").read_text())["id"] == res.id
    worse = mainsail.check(f"models:/{name}/1", data, policy=POLICY, progress=False)
    assert worse.verdict == "rejected" and worse.failed
    assert [r.id for r in mainsail.get_check_results(f"{name}/2")] == [res.id]
    assert [r.id for r in mainsail.get_check_results(name)] == [worse.id, res.id]
    assert mainsail.latest_check(f"models:/{name}@champion") == worse
    assert mainsail.latest_check(f"{name}/2") == res
    html = mainsail.get_context().artifacts.get_bytes(str(res.html_digest))
    assert b"Release checks: models:/" + name.encode() in html
    if sdk_mode == "remote":  # the server ran it: audited as checks.run, not client-computed
        assert "computed_by" not in res.summary
        assert res.created_by == "admin"  # the caller, not the server's OS user
        events = audit("checks.run", f"models/{name}/2")
        assert [e["after"]["id"] for e in events] == [res.id]


def test_check_on_a_dataframe_runs_here_and_is_recorded(sdk_mode: str, unique: str) -> None:
    name, _, holdout = setup_models(unique)
    res = mainsail.check(f"{name}/2", holdout, policy=POLICY, baseline="1", progress=False)
    assert res.verdict == "blessed" and res.data_ref is not None
    assert res.data_ref.startswith("dataframe sha256:")
    assert mainsail.latest_check(f"{name}/2") == res
    assert mainsail.get_context().artifacts.get_bytes(str(res.report_digest))
    if sdk_mode == "remote":
        assert res.summary["computed_by"] == "client"
        assert res.created_by == "admin"  # the caller, as the server knows it
        (event,) = audit("checks.record", f"models/{name}/2")
        assert event["after"] == {"id": res.id, "verdict": "blessed", "computed_by": "client"}
        assert event["actor"] == "admin" and event["status"] == 201


class Always:
    """A custom check only this process knows."""

    name = "always"

    def __init__(self, config: Any) -> None:
        self.config = config

    def run(self, context: Any) -> list[CheckOutcome]:
        return [CheckOutcome(name="always", kind="always", status="pass", threshold=0)]


def test_a_custom_check_runs_here_even_on_a_registered_dataset(sdk_mode: str, unique: str) -> None:
    name, data, _ = setup_models(unique)
    register_check("always", Always)
    try:
        res = mainsail.check(f"{name}/2", data, policy={"always": {}}, progress=False)
    finally:
        unregister_check("always")
    assert res.verdict == "blessed" and "always" in [c.name for c in res.checks]
    assert res.summary.get("computed_by") == ("client" if sdk_mode == "remote" else None)


def test_bad_input_gets_the_same_error_in_both_modes(sdk_mode: str, unique: str) -> None:
    name, data, holdout = setup_models(unique)
    with pytest.raises(ModelNotFoundError):
        mainsail.check(f"nope-{unique}/1", data, policy=POLICY)
    with pytest.raises(NotFoundError):
        mainsail.check(f"{name}/9", data, policy=POLICY)
    for where in (data, holdout):  # on the server, and here
        with pytest.raises(InvalidValueError, match="no label column 'churned'"):
            mainsail.check(f"{name}/2", where, policy={**POLICY, "label": "churned"})
        with pytest.raises(InvalidValueError, match="is models:/.*/2 itself"):
            mainsail.check(f"{name}/2", where, policy=POLICY, baseline="2")
        with pytest.raises(InvalidValueError, match="Cannot find the signature endpoint 'nope"):
            mainsail.check(f"{name}/2", where, policy=POLICY, endpoint=f"nope-{unique}")
    with pytest.raises(InvalidValueError, match="Unknown check"):
        mainsail.check(f"{name}/2", data, policy={"nonsense": 1})
    with pytest.raises(NotFoundError):
        mainsail.get_check_results(f"{name}/7")
    assert mainsail.get_check_results(f"{name}/2") == []
    assert mainsail.latest_check(f"{name}/2") is None


def test_the_server_refuses_a_recorded_result_that_breaks_the_rules(
    remote: Any, unique: str
) -> None:
    name, _, _ = setup_models(unique)
    api = mainsail.get_context().remote
    assert api is not None
    path = f"/models/{name}/versions/2/checks/record"
    fail = {"name": "accuracy", "kind": "metrics", "status": "fail", "threshold": 0.7}
    body: dict[str, Any] = {
        "verdict": "blessed",
        "data_ref": "dataframe sha256:0",
        "policy": POLICY,
        "checks": [fail],
    }
    with pytest.raises(InvalidValueError, match="outcomes and policy give 'rejected'"):
        api.json("POST", path, json=body)
    with pytest.raises(InvalidValueError, match="not in the artifact store"):
        api.json("POST", path, json={**body, "verdict": "rejected", "html_digest": "0" * 64})
    with pytest.raises(InvalidValueError, match="the checked version itself"):
        api.json("POST", path, json={**body, "verdict": "rejected", "baseline_version": 2})
    with pytest.raises(NotFoundError):
        api.json("POST", path, json={**body, "verdict": "rejected", "baseline_version": 5})
    with pytest.raises(InvalidValueError, match="does not match the API schema"):
        api.json("POST", path, json={**body, "verdict": "maybe"})
    with pytest.raises(InvalidValueError, match="created_by"):  # the server names the caller
        api.json("POST", path, json={**body, "verdict": "rejected", "created_by": "someone"})
    ok = api.json("POST", path, json={**body, "verdict": "rejected"})
    assert (ok["summary"]["computed_by"], ok["created_by"]) == ("client", "admin")


def test_a_recorded_result_does_not_open_the_gate(remote: Any, unique: str) -> None:
    """A developer's made-up blessing is stored and listed, but the gate counts only the server's."""
    name, data, holdout = setup_models(unique)
    # turning the gate on needs v1 blessed by checks the server ran
    anything = {"label": "y", "metrics": {"accuracy": {"min": 0.0}}}
    assert mainsail.check(f"{name}/1", data, policy=anything, progress=False).blessed
    mainsail.set_alias(name, "champion", 1, require_checks=True)
    api = mainsail.get_context().remote
    assert api is not None
    made_up = {
        "verdict": "blessed",
        "data_ref": f"datasets:/h-{unique}/1",
        "policy": {"metrics": {"accuracy": {"min": 0.99}}},
        "checks": [
            {"name": "metrics.accuracy", "kind": "metrics", "status": "pass", "threshold": 0.99}
        ],
        "summary": {"computed_by": "server"},  # overridden: the server marks it
    }
    forged = api.json("POST", f"/models/{name}/versions/2/checks/record", json=made_up)
    assert forged["summary"]["computed_by"] == "client"
    here = mainsail.check(f"{name}/2", holdout, policy=POLICY, progress=False)  # computed here
    assert here.blessed and here.summary["computed_by"] == "client"
    assert [r.id for r in mainsail.get_check_results(f"{name}/2")] == [here.id, forged["id"]]
    with pytest.raises(
        ModelStateError,
        match=r"no CheckResult that Mainsail computed; the gate ignores its 2 result\(s\) "
        r"recorded by a client.*registered dataset",
    ):
        mainsail.set_alias(name, "champion", 2)
    assert mainsail.get_model_version(f"models:/{name}@champion").version == 1
    on_server = mainsail.check(f"{name}/2", data, policy=POLICY, progress=False)
    assert on_server.blessed and "computed_by" not in on_server.summary
    assert mainsail.set_alias(name, "champion", 2).version == 2


def test_a_viewer_cannot_record_a_result(remote: Any, unique: str) -> None:
    from mainsail.store._rest_store import RestClient

    api = mainsail.get_context().remote
    assert api is not None
    user = f"viewer-{unique}"
    token = api.json("POST", "/users", json={"name": user, "role": "viewer"})["token"]["token"]
    viewer = RestClient(remote.url, token=token)
    try:
        with pytest.raises(PermissionDeniedError):
            viewer.json("POST", f"/models/m-{unique}/versions/2/checks/record", json={})
    finally:
        viewer.close()


def test_cli_check_and_list(
    sdk_mode: str, unique: str, tmp_path: Path, cli: Callable[..., tuple[int, str, str]]
) -> None:
    name, data, _ = setup_models(unique)
    policy = tmp_path / "checks.yaml"
    policy.write_text(json.dumps(POLICY))  # JSON is YAML
    code, out, err = cli("check", f"{name}/2", "--data", data, "--policy", str(policy), "--json")
    assert code == 0, err
    checked = json.loads(out)
    assert checked["verdict"] == "blessed"
    code, out, err = cli("check", f"{name}/1", "--data", data, "--policy", str(policy))
    assert code == 1, err
    code, out, _ = cli("checks", "list", name, "--json")
    assert code == 0
    assert [r["verdict"] for r in json.loads(out)] == ["rejected", "blessed"]
    code, out, _ = cli("checks", "show", f"{name}/2", "--json")
    assert json.loads(out)["id"] == checked["id"]
    code, _, err = cli("checks", "show", f"nope-{unique}/1")
    assert code != 0 and "Unknown model" in err


def test_the_check_service_runs_where_the_data_can_be_read(sdk_mode: str, unique: str) -> None:
    from mainsail.checks import available_checks
    from mainsail.checks._runner import LocalChecks
    from mainsail.checks._service import CHECK_RUNS, RemoteChecks

    service = mainsail.get_context().service(CHECK_RUNS)
    assert service is mainsail.get_context().service(CHECK_RUNS)  # built once per context
    if sdk_mode == "embedded":
        assert isinstance(service, LocalChecks)
        return
    assert isinstance(service, RemoteChecks)
    assert service.server_checks() == frozenset(available_checks())  # the same built-ins
    name, data, _ = setup_models(unique)
    register_check("always", Always)  # a check only this process has
    try:
        here = mainsail.check(f"{name}/2", data, policy={**POLICY, "always": {}}, progress=False)
    finally:
        unregister_check("always")
    there = mainsail.check(f"{name}/2", data, policy=POLICY, progress=False)
    assert here.summary["computed_by"] == "client" and "computed_by" not in there.summary
    assert audit("checks.record", f"models/{name}/2")[0]["after"]["id"] == here.id
    assert audit("checks.run", f"models/{name}/2")[0]["after"]["id"] == there.id


def test_listing_the_server_s_checks_needs_a_token(remote: Any) -> None:
    import httpx

    resp = httpx.get(f"{remote.url}/api/v1/checks/kinds")
    assert resp.status_code == 401
