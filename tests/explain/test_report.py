"""The HTML report: one self-contained file with every section, for one or many outputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

from mainsail.core._errors import InvalidValueError
from mainsail.explain import explain, write_report

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


def test_report_of_a_multiclass_explanation_with_string_values(tmp_path: Path) -> None:
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
