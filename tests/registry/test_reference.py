"""A version's reference: given, or the run's training dataset; and its global importance."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.explanations._importance import EXACT_ROWS, SAMPLED_ROWS
from mainsail.registry import render_html, render_markdown


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, pd.Series]:
    """Four features; the label is ``key > 0``: every honest method ranks ``key`` first."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(3000, 4)), columns=["noise_a", "key", "noise_b", "noise_c"])
    return X, (X["key"] > 0).astype(int)


@pytest.fixture(scope="module")
def hgb(planted):  # type: ignore[no-untyped-def]
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = planted
    return HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)


def test_reference_gives_a_global_importance_on_the_card(ctx, planted, hgb) -> None:  # type: ignore[no-untyped-def]
    X, _ = planted
    mv = mainsail.register_model(hgb, name="churn", reference=X)
    record = mv.card["global_importance"]
    assert list(record["features"])[0] == "key"
    assert set(record["features"]) == set(X.columns)
    assert record["method"] == "tree" and record["exact"] is True
    assert record["output_space"] == "margin" and record["rows"] == EXACT_ROWS < len(X)
    page = render_html(mv)
    assert "Global importance (mean |SHAP|)" in page and "<svg" in page
    chart = page[page.index("<svg") :]
    assert chart.index(">key<") < chart.index(">noise_a<")  # largest bar first
    md = render_markdown(mv)
    assert "## Global importance (mean |SHAP|)" in md and "| key |" in md
    # stored, not recomputed: the version read back has it
    assert mainsail.get_model_version("models:/churn/1").card["global_importance"] == record


def test_a_model_without_exact_method_gets_the_bounded_fallback(ctx, planted) -> None:  # type: ignore[no-untyped-def]
    from sklearn.naive_bayes import GaussianNB

    X, y = planted
    model = GaussianNB().fit(X, y)  # neither a tree nor linear: explained by sampling
    record = mainsail.register_model(model, name="pipe", reference=X).card["global_importance"]
    assert record["method"] == "permutation" and record["exact"] is False
    assert record["rows"] == SAMPLED_ROWS and record["output_space"] == "probability"
    assert list(record["features"])[0] == "key"


def test_unexplainable_model_or_missing_shap_is_skipped_with_a_reason(  # type: ignore[no-untyped-def]
    ctx, planted, hgb, monkeypatch, caplog
) -> None:
    from sklearn.svm import SVC

    X, y = planted
    labels_only = SVC().fit(X.head(300), y.head(300))  # no predict_proba: nothing to attribute
    with caplog.at_level(logging.WARNING):
        mv = mainsail.register_model(labels_only, name="svc", reference=X.head(300))
    assert "No explainer supports" in mv.card["global_importance"]["skipped"]
    assert "No global importance stored" in caplog.text
    assert mv.reference_profile["row_count"] == 300  # the registration itself went through

    monkeypatch.setitem(sys.modules, "shap", None)  # `import shap` fails
    mv = mainsail.register_model(hgb, name="churn", reference=X)
    skipped = mv.card["global_importance"]["skipped"]
    assert "shap" in skipped and "pip install 'mainsail[explain]'" in skipped
    assert "Not measured" in render_html(mv)


def test_without_reference_the_runs_training_dataset_is_the_reference(  # type: ignore[no-untyped-def]
    ctx, planted, hgb, caplog
) -> None:
    X, y = planted
    train = X.assign(label=y)  # the logged table holds the label too: only inputs are kept
    dv = mainsail.log_dataset(train, name="train")
    with mainsail.start_run(experiment="churn") as run:
        run.log_input(dv)
        with caplog.at_level(logging.WARNING):
            mv = mainsail.register_model(hgb, name="churn", run=run, input_example=X.head())
    assert "no reference data" not in caplog.text
    assert mv.reference_profile["row_count"] == len(X)
    assert "label" not in mv.reference_profile["columns"]
    assert mv.card["global_importance"]["method"] == "tree"
    assert "prediction" in mv.reference_profile["columns"]  # a prediction baseline too


def test_without_reference_or_training_dataset_registration_warns(  # type: ignore[no-untyped-def]
    ctx, planted, hgb, caplog
) -> None:
    X, _ = planted
    other = mainsail.log_dataset(pd.DataFrame({"unrelated": [1, 2, 3]}), name="other")
    with mainsail.start_run(experiment="churn") as run:
        run.log_input(other)  # a training dataset without the model's inputs
        with caplog.at_level(logging.WARNING):
            mv = mainsail.register_model(hgb, name="churn", run=run, input_example=X.head())
    assert "is the 5-row input example" in caplog.text
    assert "lacks the model input(s) noise_a, key, noise_b, noise_c" in caplog.text
    assert "Pass reference=" in caplog.text
    assert mv.reference_profile["row_count"] == 5
    assert "global_importance" not in mv.card
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        mainsail.register_model(hgb, name="churn", input_example=X.head())
    assert "the version has no run" in caplog.text
