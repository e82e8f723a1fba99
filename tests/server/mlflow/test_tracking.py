"""MLflow's tracking client, unmodified, against ``mainsail server``; read back with the SDK."""

from __future__ import annotations

from pathlib import Path

import pytest

import mainsail
from mainsail.server._process import ServerProcess

pytestmark = pytest.mark.timeout(1500)  # the first run creates the MLflow venv

TRAIN = """
import json, mlflow
from mlflow import MlflowClient

mlflow.set_experiment("churn-mlflow")
with mlflow.start_run(run_name="first") as run:
    mlflow.log_params({"depth": 3, "lr": 0.1})
    for i in range(5):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    mlflow.log_metrics({"auc": 0.9, "f1": 0.8})
    mlflow.set_tags({"team": "a", "drop": "me"})
    open("notes.txt", "w").write("hello")
    mlflow.log_artifact("notes.txt")
    mlflow.log_artifact("notes.txt", artifact_path="sub")
with mlflow.start_run(run_name="second") as run2:
    mlflow.log_param("depth", 5)
    mlflow.log_metric("loss", 0.7)
c = MlflowClient()
exp = c.get_experiment_by_name("churn-mlflow")
c.delete_tag(run.info.run_id, "drop")
found = c.search_runs(
    [exp.experiment_id],
    "metrics.loss < 0.5 and params.depth = '3' and attributes.status = 'FINISHED'",
    order_by=["metrics.loss DESC"],
)
ordered = c.search_runs([exp.experiment_id], order_by=["metrics.loss DESC"])
history = c.get_metric_history(run.info.run_id, "loss")
c.delete_run(run2.info.run_id)
active = c.search_runs([exp.experiment_id])
from mlflow.entities import ViewType
deleted = c.search_runs([exp.experiment_id], run_view_type=ViewType.DELETED_ONLY)
c.restore_run(run2.info.run_id)
got = c.get_run(run.info.run_id)
print(json.dumps({
    "run_id": run.info.run_id,
    "run2_id": run2.info.run_id,
    "experiment_id": exp.experiment_id,
    "found": [r.info.run_name for r in found],
    "ordered": [r.info.run_name for r in ordered],
    "history": [[m.step, m.value] for m in history],
    "active": [r.info.run_name for r in active],
    "deleted": [r.info.run_name for r in deleted],
    "restored": len(c.search_runs([exp.experiment_id])),
    "artifacts": sorted(f.path for f in c.list_artifacts(run.info.run_id)),
    "sub": [f.path for f in c.list_artifacts(run.info.run_id, "sub")],
    "downloaded": open(c.download_artifacts(run.info.run_id, "sub/notes.txt", ".")).read(),
    "tags": got.data.tags,
    "status": got.info.status,
    "metrics": got.data.metrics,
    "params": got.data.params,
    "unknown": len([e for e in c.search_experiments() if e.name == "nope"]),
}))
"""


def _env(srv: ServerProcess, token: str) -> dict[str, str]:
    return {"MLFLOW_TRACKING_URI": srv.url, "MLFLOW_TRACKING_TOKEN": token}


def test_training_script_writes_mainsail_runs(
    mlflow_server: tuple[ServerProcess, str],
    run_mlflow: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    srv, token = mlflow_server
    out = run_mlflow(TRAIN, _env(srv, token))  # type: ignore[operator]
    assert out["found"] == ["first"]
    assert out["ordered"] == ["second", "first"]
    assert out["history"] == [[i, 1.0 / (i + 1)] for i in range(5)]
    assert out["active"] == ["first"] and out["deleted"] == ["second"]
    assert out["restored"] == 2
    assert out["artifacts"] == ["notes.txt", "sub"] and out["sub"] == ["sub/notes.txt"]
    assert out["downloaded"] == "hello"
    assert out["status"] == "FINISHED"
    assert out["params"] == {"depth": "3", "lr": "0.1"}
    assert out["metrics"] == {"loss": 0.2, "auc": 0.9, "f1": 0.8}
    assert out["tags"]["team"] == "a" and "drop" not in out["tags"]
    assert out["tags"]["mlflow.runName"] == "first"

    # the same data through Mainsail's SDK
    monkeypatch.setenv("MAINSAIL_TRACKING_URI", srv.url)
    monkeypatch.setenv("MAINSAIL_TOKEN", token)
    monkeypatch.setenv("MAINSAIL_HOME", str(tmp_path / "client-home"))
    mainsail.reset()
    try:
        run = mainsail.get_run(out["run_id"])
        assert run.experiment == "churn-mlflow" and run.name == "first"
        assert run.status == "finished" and run.end_time is not None
        assert run.params == {"depth": "3", "lr": "0.1"}
        assert run.metrics == {"loss": 0.2, "auc": 0.9, "f1": 0.8}
        assert run.tags["team"] == "a" and "drop" not in run.tags
        assert run.user and run.source and run.source.endswith("mlflow_script.py")
        assert sorted(a.path for a in run.artifacts) == ["notes.txt", "sub/notes.txt"]
        got = mainsail.client.download_artifact(run.id, "sub/notes.txt", tmp_path / "n.txt")
        assert got.read_text() == "hello"
        ctx = mainsail.get_context()
        history = ctx.store.metric_history(run.id, "loss")
        assert [(p.step, p.value) for p in history] == [(i, 1.0 / (i + 1)) for i in range(5)]
        runs = mainsail.search_runs(experiment="churn-mlflow", filter="params.depth = '5'")
        assert list(runs["run_id"]) == [out["run2_id"]]
    finally:
        mainsail.reset()


UNSUPPORTED = """
import json, mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
out = {}
try:
    MlflowClient().list_webhooks()
except MlflowException as e:
    out["webhooks"] = [e.error_code, e.message]
try:
    MlflowClient().get_experiment("12345")
except MlflowException as e:
    out["missing"] = [e.error_code, e.message]
try:
    MlflowClient().search_runs(["0"], "metrics.loss <")
except MlflowException as e:
    out["filter"] = [e.error_code, e.message]
print(json.dumps(out))
"""


def test_unsupported_endpoints_and_bad_input_answer_mlflow_errors(
    mlflow_server: tuple[ServerProcess, str], run_mlflow: object
) -> None:
    srv, token = mlflow_server
    out = run_mlflow(UNSUPPORTED, _env(srv, token))  # type: ignore[operator]
    code, message = out["webhooks"]
    assert code == "ENDPOINT_NOT_FOUND"
    assert "does not implement the MLflow endpoint" in message and "webhooks" in message
    assert out["missing"][0] == "RESOURCE_DOES_NOT_EXIST" and "12345" in out["missing"][1]
    assert out["filter"][0] == "INVALID_PARAMETER_VALUE"
    assert "expected a value" in out["filter"][1]


def test_a_client_without_a_token_is_refused(
    mlflow_server: tuple[ServerProcess, str], run_mlflow: object
) -> None:
    srv, _ = mlflow_server
    script = """
    import json, mlflow
    from mlflow.exceptions import MlflowException
    try:
        mlflow.MlflowClient().search_experiments()
    except MlflowException as e:
        print(json.dumps({"code": e.error_code, "message": e.message}))
    """
    out = run_mlflow(script, {"MLFLOW_TRACKING_URI": srv.url})  # type: ignore[operator]
    assert out["code"] == "UNAUTHENTICATED"
    assert "MAINSAIL_TOKEN" in out["message"]
