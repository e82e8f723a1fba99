"""The Explanation result type: shapes, additivity measured, accessors, bad input."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest

from mainsail.core._errors import InvalidValueError
from mainsail.explanations import Explanation


def _single() -> Explanation:
    data = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]}, index=[10, 11, 12])
    values = np.array([[0.5, -2.0], [-1.0, 0.25], [0.0, 0.0]])
    return Explanation(
        values=values,
        base_values=1.0,
        output=1.0 + values.sum(axis=1) + np.array([0.0, 1e-3, 0.0]),
        data=data,
        output_space="margin",
        method="demo",
        model="toy",
    )


def _multi() -> Explanation:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 3, 3))
    base = np.array([0.1, 0.2, 0.3])
    return Explanation(
        values=values,
        base_values=base,
        output=base + values.sum(axis=1),
        data=pd.DataFrame(rng.normal(size=(4, 3)), columns=["p", "q", "r"]),
        output_space="probability",
        method="demo",
        outputs=["low", "mid", "high"],
    )


def test_single_output_shapes_and_additivity_measured() -> None:
    e = _single()
    assert e.values.shape == (3, 2) and e.base_values.shape == (3,) and e.output.shape == (3,)
    assert e.n_outputs == 1 and e.outputs == ["output"] and len(e) == 3
    assert e.additivity_errors == pytest.approx([0.0, 1e-3, 0.0])
    assert e.additivity_error == pytest.approx(1e-3)
    assert "3 rows x 2 features" in repr(e)


def test_multi_output_shapes_and_selection() -> None:
    e = _multi()
    assert e.values.shape == (4, 3, 3) and e.base_values.shape == (4, 3)
    assert e.additivity_error < 1e-12
    vals, base, out = e.for_output("mid")
    assert np.array_equal(vals, e.values[:, :, 1]) and np.allclose(base, 0.2)
    assert e.output_index(2) == 2
    with pytest.raises(InvalidValueError, match="Valid outputs are: low, mid, high"):
        e.output_index("huge")
    with pytest.raises(InvalidValueError, match="choose one with output="):
        e.output_index()


def test_to_frame_keeps_the_index_and_names() -> None:
    frame = _single().to_frame()
    assert list(frame.columns) == ["a", "b"] and list(frame.index) == [10, 11, 12]
    multi = _multi().to_frame()
    assert multi.columns.names == ["output", "feature"]
    assert np.array_equal(multi[("high", "q")].to_numpy(), _multi().values[:, 1, 2])
    assert list(_multi().to_frame(output="low").columns) == ["p", "q", "r"]


def test_top_features_rank_by_absolute_attribution() -> None:
    top = _single().top_features(k=1)
    assert list(top.columns) == ["row", "rank", "feature", "value", "attribution"]
    assert top["feature"].tolist() == ["b", "a", "a"]  # row 12 ties at 0: column order
    assert top["row"].tolist() == [10, 11, 12]
    assert top["value"].tolist() == ["x", 2.0, 3.0]
    assert len(_single().top_features(k=10)) == 6  # k is capped at the feature count
    with pytest.raises(InvalidValueError, match="positive integer"):
        _single().top_features(k=0)


def test_global_importance_is_mean_absolute_attribution() -> None:
    imp = _single().global_importance()
    assert imp.to_dict() == pytest.approx({"b": 2.25 / 3, "a": 1.5 / 3})
    e = _multi()
    summed = np.abs(e.values).sum(axis=2).mean(axis=0)
    assert e.global_importance().loc[["p", "q", "r"]].to_numpy() == pytest.approx(summed)
    one = e.global_importance(output="low")
    assert one.loc["p"] == pytest.approx(np.abs(e.values[:, 0, 0]).mean())


def test_to_dict_is_json_safe() -> None:
    d = orjson.loads(orjson.dumps(_multi().to_dict()))
    assert d["outputs"] == ["low", "mid", "high"] and d["output_space"] == "probability"
    assert np.asarray(d["values"]).shape == (4, 3, 3)


def test_bad_construction_says_what_was_expected() -> None:
    data = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(InvalidValueError, match=r"shape \(2, 1\).*Got \(3, 1\)"):
        Explanation(np.zeros((3, 1)), 0.0, np.zeros(2), data, "raw", "x")
    with pytest.raises(InvalidValueError, match="Valid output spaces are: probability"):
        Explanation(np.zeros((2, 1)), 0.0, np.zeros(2), data, "logits", "x")
    with pytest.raises(InvalidValueError, match="1 output name"):
        Explanation(np.zeros((2, 1)), 0.0, np.zeros(2), data, "raw", "x", outputs=["a", "b"])
    with pytest.raises(InvalidValueError, match="model outputs"):
        Explanation(np.zeros((2, 1)), 0.0, np.zeros(5), data, "raw", "x")
    with pytest.raises(InvalidValueError, match="pandas DataFrame"):
        Explanation(np.zeros((2, 1)), 0.0, np.zeros(2), np.zeros((2, 1)), "raw", "x")  # type: ignore[arg-type]
