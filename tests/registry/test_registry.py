from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.core import (
    CorruptedArtifactError,
    InvalidAddressError,
    InvalidValueError,
    MissingDependencyError,
    ModelNotFoundError,
    ModelStateError,
    SignatureMismatchError,
    UnsupportedModelError,
)


@pytest.fixture
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(
        {
            "age": rng.integers(18, 80, 400),
            "income": rng.normal(50, 10, 400),
            "plan": rng.choice(["basic", "pro"], 400),
        }
    )
    y = ((X["age"] > 40) ^ (X["plan"] == "pro")).astype(int).to_numpy()
    return X, y


@pytest.fixture
def model(data):  # type: ignore[no-untyped-def]
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X, y = data
    pre = make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough")
    return make_pipeline(pre, RandomForestClassifier(n_estimators=10, random_state=0)).fit(X, y)


def test_versions_lineage_and_metrics(ctx, data, model) -> None:  # type: ignore[no-untyped-def]
    X, _ = data
    dv = mainsail.log_dataset(X, name="train")
    with mainsail.start_run(experiment="churn") as run:
        run.log_input(dv)
        run.log_metric("auc", 0.93)
        mv1 = mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
    mv2 = mainsail.register_model(model, name="churn", input_example=X.head(), description="v2")
    assert (mv1.version, mv2.version) == (1, 2)
    assert mv1.run_id == run.id and mv1.metrics == {"auc": 0.93}
    assert mv1.datasets == ["datasets:/train/1"]
    assert mv1.reference_profile is not None and mv1.reference_profile["row_count"] == 400
    cols = {c["name"]: c for c in mv1.signature["inputs"]["columns"]}
    assert cols["plan"]["categories"] == ["basic", "pro"] and cols["age"]["dtype"] == "int"
    assert mainsail.get_model_version("models:/churn@latest").version == 2
    assert [m.name for m in mainsail.list_models()] == ["churn"]


def test_aliases_move_atomically_with_history(ctx, data, model) -> None:  # type: ignore[no-untyped-def]
    X, _ = data
    for _ in range(3):
        mainsail.register_model(model, name="churn", input_example=X.head())
    mainsail.set_alias("churn", "champion", 1)
    mainsail.set_alias("churn", "champion", 3)
    assert mainsail.get_model_version("models:/churn@champion").version == 3
    hist = mainsail.alias_history("churn", "champion")
    assert [(h.from_version, h.to_version) for h in hist] == [(None, 1), (1, 3)]
    assert hist[0].actor
    assert mainsail.get_model_version("models:/churn/3").aliases == ["champion"]
    with pytest.raises(ModelNotFoundError, match="aliases are: champion"):
        mainsail.get_model_version("models:/churn@nope")
    with pytest.raises(ModelStateError, match="reserved"):
        mainsail.set_alias("churn", "latest", 1)


def test_archive_and_delete_guards(ctx, data, model) -> None:  # type: ignore[no-untyped-def]
    X, _ = data
    mainsail.register_model(model, name="churn", input_example=X.head())
    mainsail.register_model(model, name="churn", input_example=X.head())
    mainsail.set_alias("churn", "champion", 2)
    mainsail.archive_version("churn", 1)
    with pytest.raises(ModelStateError, match="archived"):
        mainsail.set_alias("churn", "champion", 1)
    with pytest.raises(ModelStateError, match="alias"):
        mainsail.delete_version("churn", 2)
    with pytest.raises(ModelStateError, match="alias"):
        mainsail.archive_version("churn", 2)
    mainsail.delete_version("churn", 1)
    assert [v.version for v in mainsail.list_model_versions("churn")] == [2]
    mainsail.delete_alias("churn", "champion")
    mainsail.delete_version("churn", 2)


def test_a_served_version_cannot_be_deleted_and_numbers_are_never_reused(ctx, data, model) -> None:  # type: ignore[no-untyped-def]
    """Issue 17 item 15: endpoint revisions guard a version; a deleted number stays used."""
    X, _ = data
    for _ in range(3):
        mainsail.register_model(model, name="churn", input_example=X.head())
    mainsail.deploy("churn-ep", "models:/churn/2")
    mainsail.deploy("churn-ep", "models:/churn/1")  # v2 now only in the history
    with pytest.raises(ModelStateError) as err:
        mainsail.delete_version("churn", 1)
    assert "churn-ep: revisions 2 (current)" in str(err.value)
    assert "archive_version" in str(err.value)
    with pytest.raises(ModelStateError, match=r"churn-ep: revisions 1\b"):
        mainsail.delete_version("churn", 2)  # a rollback would return to it
    mainsail.deploy("churn-ep", "models:/churn/3", strategy="canary")
    with pytest.raises(ModelStateError, match="revisions 3 \\(current\\)"):
        mainsail.delete_version("churn", 3)  # the canary's revision serves it
    assert [v.version for v in mainsail.list_model_versions("churn")] == [1, 2, 3]
    mainsail.abort("churn-ep")
    mainsail.register_model(model, name="churn", input_example=X.head())  # v4
    mainsail.delete_version("churn", 4)
    again = mainsail.register_model(model, name="churn", input_example=X.head())
    assert again.version == 5  # not 4: models:/churn/4 can never mean this model
    with pytest.raises(ModelNotFoundError, match="versions are: 1, 2, 3, 5"):
        mainsail.get_model_version("models:/churn/4")


def test_unknown_things_are_clear_errors(ctx, data, model) -> None:  # type: ignore[no-untyped-def]
    X, _ = data
    with pytest.raises(ModelNotFoundError, match="Registered models: none yet"):
        mainsail.load_model("models:/ghost/1")
    mainsail.register_model(model, name="churn", input_example=X.head())
    with pytest.raises(ModelNotFoundError, match="versions are: 1"):
        mainsail.load_model("models:/churn/7")
    with pytest.raises(InvalidAddressError):
        mainsail.load_model("churn/one")  # churn/1 is a valid short form now
    with pytest.raises(UnsupportedModelError, match="No flavor supports"):
        mainsail.register_model(object(), name="x", input_example=X.head())
    with pytest.raises(InvalidValueError, match="input_example"):
        mainsail.register_model(model, name="x")


def test_signature_is_enforced(ctx, data, model) -> None:  # type: ignore[no-untyped-def]
    X, _ = data
    mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
    loaded = mainsail.load_model("models:/churn/1")
    with pytest.raises(SignatureMismatchError, match="Missing input column.*income"):
        loaded.predict(X.drop(columns="income"))
    bad = X.head(5).astype({"income": object})
    bad.loc[3, "income"] = "forty"
    with pytest.raises(SignatureMismatchError, match="'income' must be a number.*'forty' in row 3"):
        loaded.predict(bad)
    with pytest.raises(SignatureMismatchError, match="'plan' must be a string"):
        loaded.predict(X.head().assign(plan=1))
    with pytest.raises(SignatureMismatchError, match="missing values in row"):
        loaded.predict(X.head().assign(income=[1.0, np.nan, 2.0, 3.0, 4.0]))
    strict = mainsail.load_model("models:/churn/1", extra_columns="reject")
    with pytest.raises(SignatureMismatchError, match="Unexpected input column.*extra"):
        strict.predict(X.head().assign(extra=1))
    records = X.head(3).to_dict(orient="records")
    np.testing.assert_array_equal(loaded.predict(records), model.predict(X.head(3)))


def test_pickle_needs_explicit_consent(ctx, data) -> None:  # type: ignore[no-untyped-def]
    X, _ = data

    class Const(mainsail.PythonModel):
        def predict(self, context, model_input):  # type: ignore[no-untyped-def]
            return np.zeros(len(model_input))

    with pytest.raises(InvalidValueError, match="allow_pickle=True"):
        mainsail.register_model(Const(), name="c", input_example=X.head())
    mv = mainsail.register_model(Const(), name="c", input_example=X.head(), allow_pickle=True)
    assert mv.allow_pickle


def test_tampered_file_is_refused(ctx, data, model) -> None:  # type: ignore[no-untyped-def]
    X, _ = data
    mv = mainsail.register_model(model, name="churn", input_example=X.head())
    blob = Path(ctx.artifacts._blob_path(mv.files["model.skops"]))
    blob.write_bytes(blob.read_bytes()[:-4] + b"evil")
    with pytest.raises(CorruptedArtifactError):
        mainsail.load_model(mv.address)
    # A tampered local cache is detected too, and replaced from the (good) store.
    good = mainsail.register_model(model, name="other", input_example=X.head(), reference=X)
    mainsail.load_model(good.address)
    cached = ctx.home / "cache" / "models" / good.manifest_digest / "model.skops"
    cached.write_bytes(b"garbage")
    np.testing.assert_array_equal(mainsail.load_model(good.address).predict(X), model.predict(X))


def test_missing_flavor_library_names_pip(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mainsail.runtimes._boosting import XGBoostRuntime

    monkeypatch.setitem(sys.modules, "xgboost", None)  # makes "import xgboost" fail
    with pytest.raises(MissingDependencyError, match=r"pip install 'mainsail\[xgboost\]'"):
        XGBoostRuntime().load(Path("."), {"file": "model.ubj"})


def test_model_card(ctx, data, model) -> None:  # type: ignore[no-untyped-def]
    from mainsail.registry import render_html, render_markdown

    X, _ = data
    mv = mainsail.register_model(
        model, name="churn", input_example=X.head(), card={"intended_use": "Rank churn risk"}
    )
    mv = mainsail.update_model_card("churn", 1, limitations="Not for credit decisions")
    md = render_markdown(mv)
    assert "Rank churn risk" in md and "Not for credit decisions" in md and "| plan |" in md
    html = render_html(mv)
    assert html.startswith("<!doctype html>") and "Signature" in html


def test_two_processes_register_distinct_versions(ctx, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code = textwrap.dedent(
        """
        import numpy as np, pandas as pd, mainsail
        from sklearn.linear_model import LinearRegression
        X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) ** 0.5})
        m = LinearRegression().fit(X, X["a"] * 2)
        print(" ".join(str(mainsail.register_model(m, name="race", input_example=X).version) for _ in range(4)))
        """
    )
    env = {**os.environ, "MAINSAIL_HOME": str(home)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    versions = sorted(int(v) for out, _ in outs for v in out.split())
    assert versions == list(range(1, 9))


def test_one_set_of_address_forms_everywhere(ctx, data, model, cli) -> None:  # type: ignore[no-untyped-def]
    """churn/1 and churn@champion work wherever models:/churn/1 and models:/churn@champion do."""
    X, _ = data
    mainsail.register_model(model, name="churn", input_example=X.head())
    mainsail.set_alias("churn", "champion", 1)
    mainsail.log_dataset(X, name="tx")
    assert mainsail.get_model_version("churn@champion").version == 1
    assert mainsail.get_model_version("churn/1").address == "models:/churn/1"
    assert len(mainsail.load_model("churn@champion").predict(X.head())) == 5
    assert len(mainsail.load_dataset("tx/1")) == len(X)
    code, out, err = cli("deploy", "churn", "churn@champion")
    assert code == 0 and "promoted" in out, err
    assert mainsail.get_endpoint("churn").variants[0].version == 1
    code, out, _ = cli("deploy", "--help")
    assert "churn/2 or churn@champion" in " ".join(out.split())
