"""The HTML report: one self-contained file with every section, for one or many outputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

from mainsail.core._errors import InvalidValueError
from mainsail.explanations import explain, write_report

pytest.importorskip("matplotlib")


def _images(text: str) -> list[str]:
    return re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)


def test_report_is_self_contained_with_every_section(
    tmp_path: Path, planted: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = planted
    model = RandomForestClassifier(10, max_depth=4, random_state=0).fit(X, y)
    data = X.head(60).assign(x4=X["x4"].head(60).where(X.index[:60] % 7 != 0))  # some NaN
    e = explain(None, model, data)
    out = write_report(e, tmp_path / "report.html", dependence=2, local=3)
    text = out.read_text(encoding="utf-8")
    assert out == tmp_path / "report.html"
    for heading in ("Global importance", "Summary", "Dependence", "Local explanations"):
        assert heading in text
    assert "tree (exact)" in text and "probability" in text
    images = _images(text)
    assert len(images) == 2 + 2 + 3  # importance, summary, 2 dependence, 3 waterfalls
    assert all(img.startswith("iVBORw0KGgo") for img in images)  # PNG signature
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", text) and "<script" not in text
    assert list(tmp_path.iterdir()) == [out]  # written atomically: no temp file left


def test_report_of_a_multiclass_explanation_escapes_and_checks_its_input(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = np.digitize(X["a"], [-0.5, 0.5])
    model = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y)
    e = explain(None, model, X.head(30))
    text = write_report(e, tmp_path / "r.html", output="2", title="Churn <v2>").read_text()
    assert "attributions to 2" in text and "Churn &lt;v2&gt;" in text
    assert len(_images(text)) == 2 + 2 + 3  # only 2 features: 2 dependence plots
    with pytest.raises(InvalidValueError, match="Valid outputs are: 0, 1, 2"):
        write_report(e, tmp_path / "x.html", output="7")
    with pytest.raises(InvalidValueError, match="Expected an Explanation"):
        write_report({"values": []}, tmp_path / "y.html")  # type: ignore[arg-type]


def test_report_with_string_and_categorical_columns(tmp_path: Path) -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "plan": rng.choice(["free", "pro", "team"], 200),
            "region": pd.Categorical(rng.choice(["eu", "us"], 200)),
            "age": rng.integers(18, 80, 200),
        }
    )
    y = ((X["plan"] == "pro") | (X["age"] > 60)).astype(int)
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["plan", "region"]), remainder="passthrough"),
        LogisticRegression(max_iter=1000),
    ).fit(X, y)
    e = explain(None, model, X.head(25), background=X, n_permutations=2)
    text = write_report(e, tmp_path / "r.html", dependence=3, local=2).read_text()
    assert len(_images(text)) == 2 + 3 + 2
    for column in ("plan", "region", "age"):  # string and categorical values plot too
        assert f"alt='dependence {column}'" in text
