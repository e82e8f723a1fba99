"""MLflow's registry client against ``mainsail server``: register, alias, stage, load."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import mainsail
from mainsail.server._process import ServerProcess

pytestmark = pytest.mark.timeout(1500)  # the first run creates the MLflow venv

REGISTER = """
import json, mlflow, numpy as np, pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

mlflow.set_experiment("reg-mlflow")
X = pd.DataFrame(np.random.RandomState(0).normal(size=(60, 3)), columns=["a", "b", "c"])
y = (X.a + X.b > 0).astype(int)
model = LogisticRegression().fit(X, y)
X.to_csv("X.csv", index=False)
with mlflow.start_run() as run:
    mlflow.log_metric("acc", 0.9)
    info = mlflow.sklearn.log_model(model, name="model", input_example=X[:3])
mv = mlflow.register_model(info.model_uri, "clf-mlflow")
mv2 = mlflow.register_model(f"runs:/{run.info.run_id}/model", "clf-mlflow")
c = MlflowClient()
c.set_registered_model_alias("clf-mlflow", "champion", mv.version)
c.transition_model_version_stage("clf-mlflow", mv2.version, "Production")
loaded = mlflow.pyfunc.load_model("models:/clf-mlflow@champion")
rm = c.get_registered_model("clf-mlflow")
print(json.dumps({
    "run_id": run.info.run_id,
    "versions": [mv.version, mv2.version],
    "pred": loaded.predict(X[:10]).tolist(),
    "want": model.predict(X[:10]).tolist(),
    "aliases": rm.aliases,
    "by_alias": c.get_model_version_by_alias("clf-mlflow", "champion").version,
    "stage": c.get_model_version("clf-mlflow", mv2.version).current_stage,
    "latest": {v.current_stage: v.version for v in rm.latest_versions},
    "search": [v.version for v in c.search_model_versions("name='clf-mlflow'")],
    "models": [m.name for m in c.search_registered_models("name LIKE 'clf-%'")],
}))
"""


def test_register_alias_and_load_with_the_mlflow_client(
    mlflow_server: tuple[ServerProcess, str],
    run_mlflow: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    srv, token = mlflow_server
    env = {"MLFLOW_TRACKING_URI": srv.url, "MLFLOW_TRACKING_TOKEN": token}
    out = run_mlflow(REGISTER, env)  # type: ignore[operator]
    assert out["versions"] == ["1", "2"]
    assert out["pred"] == out["want"]
    assert out["aliases"] == {"champion": "1"}
    assert out["by_alias"] == "1" and out["stage"] == "Production"
    assert out["latest"] == {"None": "1", "Production": "2"}
    assert sorted(out["search"]) == ["1", "2"] and out["models"] == ["clf-mlflow"]

    # Mainsail sees ordinary model versions: its own sklearn flavor, lineage, aliases
    monkeypatch.setenv("MAINSAIL_TRACKING_URI", srv.url)
    monkeypatch.setenv("MAINSAIL_TOKEN", token)
    monkeypatch.setenv("MAINSAIL_HOME", str(tmp_path / "client-home"))
    mainsail.reset()
    try:
        store = mainsail.get_context().store
        v1 = store.get_model_version("clf-mlflow", alias="champion")
        assert v1.version == 1 and v1.flavor == "sklearn" and not v1.allow_pickle
        assert v1.run_id == out["run_id"] and v1.metrics == {"acc": 0.9}
        assert v1.created_by == "admin"  # the caller, not the server's OS user
        assert "skops" in v1.tags["mainsail.mlflow.conversion"]
        assert store.get_model_version("clf-mlflow", alias="production").version == 2
        X = pd.read_csv(tmp_path / "X.csv")
        model = mainsail.load_model("models:/clf-mlflow@champion")
        assert model.predict(X.head(10)).tolist() == out["want"]
    finally:
        mainsail.reset()


PICKLED = """
import json, mlflow, numpy as np, pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LinearRegression

X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
with mlflow.start_run():
    info = mlflow.sklearn.log_model(
        LinearRegression().fit(X, [1, 2, 3]), name="m", input_example=X,
        serialization_format="cloudpickle",
    )
out = {}
try:
    mlflow.register_model(info.model_uri, "pickled-mlflow")
except MlflowException as e:
    out["refused"] = [e.error_code, e.message]
try:  # opted in: kept as pyfunc, which Mainsail loads through the mlflow package
    mlflow.register_model(info.model_uri, "pickled-mlflow", tags={"mainsail.allow_pickle": "true"})
except MlflowException as e:
    out["opted_in"] = [e.error_code, e.message]
print(json.dumps(out))
"""


def test_a_pickled_model_is_refused_without_opt_in(
    mlflow_server: tuple[ServerProcess, str], run_mlflow: object
) -> None:
    srv, token = mlflow_server
    env = {"MLFLOW_TRACKING_URI": srv.url, "MLFLOW_TRACKING_TOKEN": token}
    out = run_mlflow(PICKLED, env)  # type: ignore[operator]
    code, message = out["refused"]
    assert code == "INVALID_PARAMETER_VALUE"
    assert "none of which Mainsail reads without unpickling" in message
    assert "mainsail.allow_pickle=true" in message
    # the opt-in path registers a pyfunc wrapper and test-loads it: without mlflow installed
    # next to the server that load says what is missing (with it, the version is created)
    code, message = out["opted_in"]
    assert code == "INVALID_PARAMETER_VALUE" and "needs the mlflow package" in message
