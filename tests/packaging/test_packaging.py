from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import mainsail
from mainsail.core import InvalidValueError
from mainsail.packaging import (
    ParityError,
    build_docker,
    build_lambda,
    export_onnx,
    k8s_manifests,
    parse_dockerfile,
    write_k8s,
)


@pytest.fixture
def numeric(ctx):  # type: ignore[no-untyped-def]
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    y = (X["a"] + X["b"] > 0).astype(int)
    model = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0).fit(X, y)
    return (
        mainsail.register_model(model, name="churn", input_example=X.head(), reference=X),
        model,
        X,
    )


@pytest.mark.parametrize("kind", ["sklearn", "xgboost", "lightgbm"])
def test_onnx_export_with_parity(ctx, kind: str) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    y = (X["a"] - X["c"] > 0).astype(int)
    if kind == "sklearn":
        from sklearn.linear_model import LogisticRegression

        model: Any = LogisticRegression().fit(X, y)
    elif kind == "xgboost":
        import xgboost as xgb

        model = xgb.XGBClassifier(n_estimators=10, max_depth=3).fit(X, y)
    else:
        import lightgbm as lgb

        model = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y)
    dv = mainsail.log_dataset(X, name=f"train-{kind}")
    with mainsail.start_run(experiment="onnx") as run:
        run.log_input(dv)
        run.log_metric("auc", 0.91)
        mv = mainsail.register_model(model, name=f"m-{kind}", input_example=X.head(), reference=X)
    result = export_onnx(ctx, mv.address, tolerance=1e-4)
    assert result.version.flavor == "onnx" and result.version.version == 2
    assert result.version.tags["exported_from"] == mv.address
    # issue 17 item 18: the export is the same model: the source's profile, signature,
    # lineage and metrics, not ones made up from random rows
    exported = result.version
    assert exported.signature == mv.signature
    assert exported.reference_profile == mv.reference_profile
    assert exported.reference_profile is not None
    assert exported.reference_profile["row_count"] == 300
    assert (exported.run_id, exported.datasets, exported.metrics) == (
        run.id,
        [dv.address],
        {"auc": 0.91},
    )
    assert result.max_abs_diff == 0.0 and (result.max_abs_diff_proba or 0) < 1e-4
    if kind == "xgboost":  # found by its distribution name, pinned (issue 17 item 17)
        folder = mainsail.load_model(mv.address).folder
        reqs = json.loads((folder / "mainsail-model.json").read_text())["requirements"]
        assert any(r.startswith("xgboost-cpu==") for r in reqs), reqs
    onnx = mainsail.load_model(result.version.address)
    np.testing.assert_array_equal(onnx.predict(X.astype(np.float32)), model.predict(X))
    assert result.version.classes == [0, 1]


def test_parity_failure_registers_nothing(ctx) -> None:  # type: ignore[no-untyped-def]
    """A real parity failure: ONNX takes float32, which rounds inputs of this magnitude."""
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"account": rng.uniform(1e8, 2e8, 200), "b": rng.normal(size=200)})
    model = LinearRegression().fit(X, X["account"] * 3.0 + X["b"])
    mv = mainsail.register_model(model, name="big", input_example=X.head(), reference=X)
    with pytest.raises(ParityError, match="above the tolerance 0.0001"):
        export_onnx(ctx, mv.address)
    assert [v.version for v in mainsail.list_model_versions("big")] == [1]
    with pytest.raises(InvalidValueError, match="tolerance must be >= 0"):
        export_onnx(ctx, mv.address, tolerance=-1.0)
    with pytest.raises(InvalidValueError, match="Valid: int8"):
        export_onnx(ctx, mv.address, quantize="int4")


def test_int8_quantisation_reports_parity(ctx) -> None:  # type: ignore[no-untyped-def]
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(400, 16)), columns=[f"x{i}" for i in range(16)])
    y = (X["x0"] + X["x1"] - X["x2"] > 0).astype(int)
    model = MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=300, random_state=0).fit(X, y)
    mv = mainsail.register_model(model, name="edge", input_example=X.head(), reference=X)
    result = export_onnx(ctx, mv.address, quantize="int8", min_agreement=0.95)
    q = result.quantization
    assert q is not None and q.kind == "int8" and q.rows == result.rows_checked
    assert q.agreement is not None and 0.95 <= q.agreement <= 1.0
    assert 0 < q.max_abs_error < 0.5  # int8 weights move the probabilities a little
    assert q.size_bytes < q.float_size_bytes / 2  # weights stored in a quarter of the bytes
    assert q.latency_ms > 0 and q.float_latency_ms > 0
    v = result.version
    assert v.tags["quantization"] == "int8" and v.card["onnx_quantization"]["kind"] == "int8"
    served = mainsail.load_model(v.address)
    agree = np.mean(served.predict(X) == model.predict(X))
    assert agree >= 0.95
    with pytest.raises(ParityError, match="below min_agreement"):
        export_onnx(ctx, mv.address, quantize="int8", min_agreement=1.0)


def test_int8_cli_prints_the_parity_report(ctx, cli) -> None:  # type: ignore[no-untyped-def]
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(200, 8)), columns=[f"x{i}" for i in range(8)])
    model = MLPRegressor(hidden_layer_sizes=(32,), max_iter=2000, random_state=0)
    model.fit(X, X.sum(axis=1))
    mainsail.register_model(model, name="lin", input_example=X.head(), reference=X)
    code, out, err = cli("models", "export", "lin/1", "--quantize", "int8", "--tolerance", "0.5")
    assert code == 0 and "models:/lin/2" in out and "int8 parity on" in out, err
    assert "max error" in out and "latency" in out and "label agreement" not in out


def test_non_numeric_inputs_are_refused(ctx) -> None:  # type: ignore[no-untyped-def]
    from sklearn.dummy import DummyClassifier

    X = pd.DataFrame({"a": [1.0, 2.0], "plan": ["x", "y"]})
    mv = mainsail.register_model(DummyClassifier().fit(X, [0, 1]), name="d", input_example=X)
    with pytest.raises(InvalidValueError, match="numeric inputs only.*plan"):
        export_onnx(ctx, mv.address)


def test_docker_context(numeric, ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mv, model, X = numeric
    build_docker(ctx, mv, tmp_path / "docker")
    instructions = parse_dockerfile((tmp_path / "docker" / "Dockerfile").read_text())
    kinds = [i for i, _ in instructions]
    assert kinds[0] == "FROM" and "HEALTHCHECK" in kinds and "USER" in kinds
    assert dict(instructions)["EXPOSE"] == "8080"
    assert "/v2/health/ready" in dict(instructions)["HEALTHCHECK"]
    reqs = (tmp_path / "docker" / "requirements.txt").read_text().splitlines()
    assert any(r.startswith("scikit-learn==") for r in reqs) and any(
        r.startswith("skops==") for r in reqs
    )
    entry = (tmp_path / "docker" / "entrypoint.sh").read_text()
    assert 'mainsail serve --model-dir "${MAINSAIL_MODEL_DIR:-/model}"' in entry
    assert any(r.startswith("./wheels/mainsail-") for r in reqs)
    assert "COPY wheels /app/wheels" in (tmp_path / "docker" / "Dockerfile").read_text()
    # The copied folder is a loadable, digest-checked model package.
    from mainsail.registry import load_model_dir

    loaded = load_model_dir(tmp_path / "docker" / "model")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    (tmp_path / "docker" / "model" / "model.skops").write_bytes(b"tampered")
    from mainsail.core import CorruptedArtifactError

    with pytest.raises(CorruptedArtifactError):
        load_model_dir(tmp_path / "docker" / "model")
    with pytest.raises(InvalidValueError, match="start with FROM"):
        parse_dockerfile("RUN echo hi\n")
    with pytest.raises(InvalidValueError, match="Unknown Dockerfile instruction"):
        parse_dockerfile("FROM x\nBOGUS y\n")


def _deserialize(api, text, kind):  # type: ignore[no-untyped-def]
    """kubernetes >= 37 takes the text; earlier clients take a response with ``.data``."""
    try:
        return api.deserialize(text, kind, "application/json")
    except TypeError:

        class _Response:
            data = text

        return api.deserialize(_Response(), kind)


def test_k8s_manifests_parse_with_the_kubernetes_models(numeric, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kubernetes.client import ApiClient

    mv, _, _ = numeric
    path = write_k8s(
        k8s_manifests(mv, "registry.local/churn:1", min_replicas=2, max_replicas=6), tmp_path
    )
    docs = list(yaml.safe_load_all(path.read_text()))
    assert [d["kind"] for d in docs] == [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ]

    api = ApiClient()
    types = ["V1Deployment", "V1Service", "V2HorizontalPodAutoscaler", "V1PodDisruptionBudget"]
    objs = [_deserialize(api, json.dumps(d), t) for d, t in zip(docs, types, strict=True)]
    dep, svc, hpa, pdb = objs
    container = dep.spec.template.spec.containers[0]
    assert container.readiness_probe.http_get.path == "/v2/health/ready"
    assert container.liveness_probe.http_get.path == "/v2/health/live"
    assert container.ports[0].container_port == 8080 and container.ports[0].name == "http"
    assert svc.spec.ports[0].target_port == "http"
    assert dep.spec.selector.match_labels == svc.spec.selector == pdb.spec.selector.match_labels
    assert hpa.spec.scale_target_ref.name == dep.metadata.name
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (2, 6)
    with pytest.raises(InvalidValueError, match="min replicas"):
        k8s_manifests(mv, "x", min_replicas=5, max_replicas=2)


def test_lambda_handler_answers_an_api_gateway_event(
    numeric, ctx, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    mv, model, X = numeric
    build_lambda(ctx, mv, tmp_path / "fn")
    monkeypatch.setenv("MAINSAIL_MODEL_DIR", str(tmp_path / "fn" / "model"))
    from mainsail.packaging import lambda_handler

    lambda_handler._model.cache_clear()
    body = json.dumps({"dataframe_records": X.head(3).to_dict(orient="records")})
    event = {
        "version": "2.0",
        "routeKey": "POST /invocations",
        "rawPath": "/invocations",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "example.com"},
        "requestContext": {
            "http": {
                "method": "POST",
                "path": "/invocations",
                "sourceIp": "127.0.0.1",
                "protocol": "HTTP/1.1",
            },
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }

    class Context:
        function_name = "churn"

    out = lambda_handler.handler(event, Context())
    assert out["statusCode"] == 200
    assert json.loads(out["body"])["predictions"] == model.predict(X.head(3)).tolist()
    bad = dict(event, body=json.dumps({"dataframe_records": [{"a": 1}]}))
    out = lambda_handler.handler(bad, Context())
    assert out["statusCode"] == 422 and "Missing input column" in json.loads(out["body"])["error"]
    # a classifier with string labels answers them (it got a 500: issue 17 item 17)
    from sklearn.tree import DecisionTreeClassifier

    labels = np.where(X["a"] > 0, "churn", "stay")
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, labels)
    sv = mainsail.register_model(tree, name="labels", input_example=X.head(), reference=X)
    build_lambda(ctx, sv, tmp_path / "fn2")
    monkeypatch.setenv("MAINSAIL_MODEL_DIR", str(tmp_path / "fn2" / "model"))
    lambda_handler._model.cache_clear()
    out = lambda_handler.handler(event, Context())
    assert out["statusCode"] == 200, out
    assert json.loads(out["body"])["predictions"] == tree.predict(X.head(3)).tolist()
    # Mangum keeps one event loop per process, as Lambda reuses containers; close it here.
    import asyncio

    asyncio.get_event_loop_policy().get_event_loop().close()
    asyncio.set_event_loop(None)


def test_build_cli(numeric, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("build", "k8s", "churn/1", "--out", str(tmp_path / "k"))
    assert code == 0 and (tmp_path / "k" / "manifests.yaml").exists()
    code, out, _ = cli("build", "docker", "churn@latest", "--out", str(tmp_path / "d"))
    assert code == 0 and (tmp_path / "d" / "Dockerfile").exists()
    code, out, _ = cli("models", "export", "churn/1", "--tolerance", "0.001")
    assert code == 0 and "models:/churn/2" in out
    code, out, err = cli("models", "export", "churn/1", "--quantize", "int8")
    assert code == 1 and "nothing to quantise" in err  # a forest has no weight matrices
