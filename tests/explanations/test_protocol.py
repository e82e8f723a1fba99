"""The Explainer protocol: a contract over every registered explainer, and a third party's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge

from mainsail.core._errors import InvalidValueError
from mainsail.explanations import (
    EXPLAINERS,
    OUTPUT_SPACES,
    Explanation,
    check_explainer,
    explain,
    model_view,
    register_explainer,
)

THIRDPARTY = Path(__file__).resolve().parents[1] / "thirdparty"


@pytest.fixture(scope="module")
def candidates(planted: tuple[pd.DataFrame, pd.Series]) -> list[Any]:
    X, y = planted
    return [
        RandomForestClassifier(5, max_depth=3, random_state=0).fit(X, y),
        LogisticRegression().fit(X, y),
        Ridge().fit(X, X["x0"]),
    ]


@pytest.mark.parametrize("name", EXPLAINERS.names())
def test_every_registered_explainer_keeps_the_contract(
    name: str, planted: tuple[pd.DataFrame, pd.Series], candidates: list[Any]
) -> None:
    X, _ = planted
    explainer = check_explainer(EXPLAINERS.get(name))
    views = [model_view(None, m) for m in candidates]
    supported = [v for v in views if explainer.supports(v) is True]
    assert all(isinstance(explainer.supports(v), bool) for v in views)
    assert supported, f"{name} supports none of the contract's models"
    rows = X.head(4)
    for view in supported:
        e = explain(None, view, rows, method=name, background=X)
        assert isinstance(e, Explanation) and e.method == name
        assert e.values.shape[:2] == (4, 5) and e.feature_names == list(X.columns)
        assert e.output_space in OUTPUT_SPACES and np.isfinite(e._values).all()
        assert e.exact is bool(getattr(explainer, "exact", False))
        if e.exact:
            assert e.additivity_error < 1e-6
        assert np.isfinite(e.additivity_error)
        again = explain(None, view, rows, method=name, background=X)
        assert np.array_equal(again.values, e.values), "explanations must be deterministic"


class _NeedsArgs:
    def __init__(self, required: int) -> None:
        self.required = required


class _BadSignature:
    def supports(self, model: Any) -> bool:
        return True

    def explain(self, model: Any) -> Any:
        return None


class _BadRank(_BadSignature):
    auto_rank = "first"

    def explain(self, model: Any, X: Any, background: Any = None) -> Any:
        return None


def test_check_explainer_names_what_is_wrong() -> None:
    with pytest.raises(InvalidValueError, match="lacks: supports, explain"):
        check_explainer(object())
    with pytest.raises(InvalidValueError, match="constructible without arguments"):
        check_explainer(_NeedsArgs)
    with pytest.raises(InvalidValueError, match=r"must take \(model, X, background=None\)"):
        check_explainer(_BadSignature)
    with pytest.raises(InvalidValueError, match="auto_rank must be an integer"):
        check_explainer(_BadRank())


def test_a_third_party_explainer_is_registered_and_used_end_to_end(
    monkeypatch: pytest.MonkeyPatch, planted: tuple[pd.DataFrame, pd.Series], candidates: list[Any]
) -> None:
    X, _ = planted
    monkeypatch.syspath_prepend(str(THIRDPARTY))
    register_explainer("acme", "acme_explainers:AcmeExplainer")
    register_explainer("broken", "acme_explainers:NotAnExplainer")
    try:
        assert "acme" in EXPLAINERS.names()
        e = explain(None, candidates[0], X.head(5), method="acme", background=X, scale=1.0)
        assert e.method == "acme" and e.output_space == "probability"
        assert e.global_importance().index[0] == "x0"
        assert e.additivity_error < 1e-12
        with pytest.raises(InvalidValueError, match="Unknown option.*Valid options are: scale"):
            explain(None, candidates[0], X.head(5), method="acme", background=X, seed=3)
        with pytest.raises(
            InvalidValueError, match="Explainer 'broken' is not usable.*lacks: supports"
        ):
            explain(None, candidates[0], X.head(5), method="broken")
        # not in auto's order (auto_rank None): auto still picks the exact method
        assert explain(None, candidates[0], X.head(2)).method == "tree"
    finally:
        EXPLAINERS.unregister("acme")
        EXPLAINERS.unregister("broken")
    assert "acme" not in EXPLAINERS.names()


class _WrongShape:
    def supports(self, model: Any) -> bool:
        return True

    def explain(self, model: Any, X: pd.DataFrame, background: Any = None) -> Any:
        return Explanation(np.zeros((1, X.shape[1])), 0.0, [0.0], X.head(1), "raw", "x")


class _NotAnExplanation(_WrongShape):
    def explain(self, model: Any, X: pd.DataFrame, background: Any = None) -> Any:
        return {"values": []}


def test_a_plugin_result_is_held_to_its_shape(
    planted: tuple[pd.DataFrame, pd.Series], candidates: list[Any]
) -> None:
    X, _ = planted
    register_explainer("wrong", _WrongShape)
    register_explainer("dict", _NotAnExplanation)
    try:
        with pytest.raises(
            InvalidValueError, match="explained 1 rows x 5 features; expected 3 x 5"
        ):
            explain(None, candidates[0], X.head(3), method="wrong")
        with pytest.raises(InvalidValueError, match="returned a dict"):
            explain(None, candidates[0], X.head(3), method="dict")
    finally:
        EXPLAINERS.unregister("wrong")
        EXPLAINERS.unregister("dict")
