"""``mainsail.explain`` on a registry version: the same embedded and through a real server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.core._errors import (
    BackgroundRequiredError,
    InvalidValueError,
    SignatureMismatchError,
)
from mainsail.explanations import explain as explain_native
from mainsail.explanations._service import (
    EXPLANATIONS,
    LocalExplanations,
    RemoteExplanations,
)


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=["key", "n1", "n2", "n3"])
    return X, (X["key"] > 0).astype(int)


@pytest.fixture(scope="module")
def forest(planted):  # type: ignore[no-untyped-def]
    from sklearn.ensemble import RandomForestClassifier

    X, y = planted
    return RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)


def test_explain_a_version_by_address(sdk_mode: str, unique: str, planted, forest) -> None:  # type: ignore[no-untyped-def]
    X, _ = planted
    name = f"expl-{unique}"
    mv = mainsail.register_model(forest, name=name, reference=X)
    mainsail.set_alias(name, "champion", mv.version)
    service = mainsail.get_context().service(EXPLANATIONS)
    assert isinstance(service, RemoteExplanations if sdk_mode == "remote" else LocalExplanations)

    e = mainsail.explain(f"models:/{name}@champion", X.head(20))
    native = explain_native(None, forest, X.head(20))
    assert e.method == "tree" and e.exact and e.output_space == "probability"
    assert e.model == f"models:/{name}/{mv.version}"
    assert np.allclose(e.values, native.values, atol=1e-9) and e.additivity_error < 1e-9
    assert e.feature_names == list(X.columns) and np.allclose(e.data.to_numpy(), X.head(20))
    # a sampling method takes the version's reference sample when no background is given
    p = mainsail.explain(f"models:/{name}/{mv.version}", X.head(3), method="permutation")
    assert p.background_rows == 100 and p.global_importance().index[0] == "key"
    given = mainsail.explain(
        f"models:/{name}/{mv.version}", X.head(3), method="permutation", background=X.tail(30)
    )
    assert given.background_rows == 30
    # records and arrays (in signature order) work too
    records = mainsail.explain(f"models:/{name}/1", X.head(2).to_dict("records"))
    array = mainsail.explain(f"models:/{name}/1", X.head(2).to_numpy())
    assert np.allclose(records.values, array.values) and np.allclose(records.values, e.values[:2])


def test_bad_input_is_a_clear_error(sdk_mode: str, unique: str, planted, forest) -> None:  # type: ignore[no-untyped-def]
    X, _ = planted
    name = f"bad-{unique}"
    mainsail.register_model(forest, name=name, input_example=X.head())  # no reference
    address = f"models:/{name}/1"
    with pytest.raises(InvalidValueError, match="Unknown explanation method 'shapley'") as err:
        mainsail.explain(address, X.head(3), method="shapley")
    assert "Valid methods are: auto, kernel, lime, linear, permutation, tree" in str(err.value)
    with pytest.raises(BackgroundRequiredError, match="registered without reference=") as err2:
        mainsail.explain(address, X.head(3), method="permutation")
    assert "Pass background=" in str(err2.value)
    with pytest.raises(SignatureMismatchError, match="Missing input column.*key"):
        mainsail.explain(address, X.drop(columns="key").head(3))
    with pytest.raises(SignatureMismatchError, match="4 columns"):
        mainsail.explain(address, np.zeros((2, 3)))
    with pytest.raises(InvalidValueError, match="Unknown option.*n_trees"):
        mainsail.explain(address, X.head(3), method="permutation", background=X, n_trees=3)


def test_models_explain_cli_writes_the_report(  # type: ignore[no-untyped-def]
    sdk_mode: str,
    unique: str,
    planted,
    forest,
    tmp_path: Path,
    cli: Callable[..., tuple[int, str, str]],
) -> None:
    X, _ = planted
    name = f"cli-{unique}"
    mv = mainsail.register_model(forest, name=name, reference=X)
    mainsail.set_alias(name, "champion", mv.version)
    data = tmp_path / "rows.parquet"
    X.assign(extra="ignored").to_parquet(data)  # extra columns are dropped, as predict does
    out = tmp_path / "report.html"
    code, text, err = cli(
        "models", "explain", f"{name}@champion", "--data", str(data), "--out", str(out),
        "--rows", "50",
    )  # fmt: skip
    assert code == 0, err
    assert "50 rows explained by the tree method" in text and "key" in text
    page = out.read_text()
    for section in ("Global importance", "Summary", "Dependence", "Local explanations"):
        assert section in page
    assert page.count("data:image/png;base64,") >= 1 + 1 + 3 + 3
    code, text, err = cli(
        "models", "explain", f"{name}/{mv.version}", "--data", str(data), "--rows", "20",
        "--method", "permutation", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(text)
    assert doc["method"] == "permutation" and doc["rows"] == 20 and doc["report"] is None
    assert next(iter(doc["global_importance"])) == "key"
    code, _, err = cli(
        "models", "explain", f"{name}@champion", "--data", str(tmp_path / "nope.parquet")
    )
    assert code == 1 and "Expected a data file" in err and "Traceback" not in err
    bad = tmp_path / "bad.csv"
    X.drop(columns="n1").head(5).to_csv(bad, index=False)
    code, _, err = cli("models", "explain", f"{name}/1", "--data", str(bad), "--method", "tree")
    assert code == 1 and "n1" in err and "Traceback" not in err


def test_the_runs_training_dataset_is_the_reference(
    sdk_mode: str, unique: str, planted, forest
) -> None:  # type: ignore[no-untyped-def]
    X, y = planted
    name = f"train-{unique}"
    with mainsail.start_run(experiment=f"exp-{unique}") as run:
        mainsail.log_dataset(X.assign(label=y), name=f"train-{unique}")  # logged as training
        mv = mainsail.register_model(forest, name=name, run=run, input_example=X.head())
    assert mv.reference_profile is not None and mv.reference_profile["row_count"] == len(X)
    assert mv.card["global_importance"]["method"] == "tree"
    assert list(mv.card["global_importance"]["features"])[0] == "key"
    # and its sample is the version's background: no background= needed
    e = mainsail.explain(mv.address, X.head(2), method="permutation")
    assert e.background_rows == 100
