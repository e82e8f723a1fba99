"""MLflow model folders as Mainsail versions: safe conversion, refusals, input examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mainsail.core._errors import InvalidValueError, UnsupportedModelError
from mainsail.registry._mlflow import input_example, register_mlflow_model


def _folder(tmp_path: Path, model: Any, example: Any, fmt: str = "skops") -> Path:
    import skops.io as sio

    folder = tmp_path / "mlflow-model"
    folder.mkdir()
    (folder / "model.skops").write_bytes(sio.dumps(model))
    flavor = {"pickled_model": "model.skops", "serialization_format": fmt}
    mlmodel = {
        "flavors": {"sklearn": flavor, "python_function": {"loader_module": "mlflow.sklearn"}},
        "saved_input_example_info": {"artifact_path": "input_example.json", "type": "dataframe"},
    }
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    if example is not None:
        (folder / "input_example.json").write_text(json.dumps(example))
    return folder


def _double(X: Any) -> Any:  # a function of the user's code: skops must be told to trust it
    return X * 2


def _fit() -> tuple[Any, pd.DataFrame]:
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 2)), columns=["a", "b"])
    return LogisticRegression().fit(X, (X.a > 0).astype(int)), X


def test_skops_sklearn_becomes_the_sklearn_flavor(ctx: Any, tmp_path: Path) -> None:
    model, X = _fit()
    example = {"columns": ["a", "b"], "data": X.head(3).values.tolist()}
    mv = register_mlflow_model(ctx, "m", _folder(tmp_path, model, example), None)
    assert mv.flavor == "sklearn" and not mv.allow_pickle
    assert "MLflow sklearn (skops)" in mv.tags["mainsail.mlflow.conversion"]
    assert [c["name"] for c in mv.signature["inputs"]["columns"]] == ["a", "b"]


def test_unsafe_skops_types_are_refused(ctx: Any, tmp_path: Path) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    model, X = _fit()
    pipe = make_pipeline(FunctionTransformer(_double), model).fit(X.abs(), X.a > 0)
    example = {"columns": ["a", "b"], "data": X.abs().head(3).values.tolist()}
    folder = _folder(tmp_path, pipe, example)
    with pytest.raises(UnsupportedModelError, match="types outside scikit-learn, NumPy and SciPy"):
        register_mlflow_model(ctx, "m", folder, None)


def test_a_pickled_model_needs_the_opt_in(ctx: Any, tmp_path: Path) -> None:
    model, X = _fit()
    folder = _folder(tmp_path, model, {"columns": ["a", "b"], "data": [[1.0, 2.0]]}, "cloudpickle")
    with pytest.raises(UnsupportedModelError, match="none of which Mainsail reads without"):
        register_mlflow_model(ctx, "m", folder, None)


def test_input_examples(tmp_path: Path) -> None:
    model, _ = _fit()
    rows = {"inputs": [[1.0, 2.0], [3.0, 4.0]]}
    folder = _folder(tmp_path, model, rows)
    frame = input_example(folder, yaml.safe_load((folder / "MLmodel").read_text()))
    assert list(frame.columns) == ["f0", "f1"] and len(frame) == 2
    (folder / "input_example.json").unlink()
    with pytest.raises(InvalidValueError, match="input_example=X"):
        input_example(folder, {"flavors": {}})
    (folder / "MLmodel").unlink()
    with pytest.raises(InvalidValueError, match="Expected an MLflow model folder"):
        register_mlflow_model(None, "m", folder, None)  # type: ignore[arg-type]
