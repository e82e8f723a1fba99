"""Records print as one readable line; the details stay a field away."""

from __future__ import annotations

import numpy as np
import pandas as pd

import mainsail


def test_dataset_and_model_versions_print_concisely(ctx) -> None:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    r = np.random.default_rng(0)
    df = pd.DataFrame({f"f{i}": r.normal(size=400) for i in range(12)})
    df["y"] = (df.f0 > 0).astype(int)
    dv = mainsail.log_dataset(df, name="wide")
    X = df.drop(columns="y")
    mv = mainsail.register_model(
        LogisticRegression().fit(X, df.y), name="churn", input_example=X.head(), reference=X
    )
    mainsail.set_alias("churn", "champion", mv.version)
    mv = mainsail.get_model_version("models:/churn/1")

    text = str(dv)
    assert text == repr(dv) and len(text) < 200, text
    assert text.startswith("DatasetVersion(datasets:/wide/1, 400 rows, 13 columns [f0, f1")
    assert "… 5 more" in text and dv.digest[:12] in text
    assert dv.profile and dv.schema_["columns"]  # the details are still there

    text = str(mv)
    assert text == repr(mv) and len(text) < 200, text
    assert text.startswith("ModelVersion(models:/churn/1, sklearn classification, inputs=[f0")
    assert "aliases=['champion']" in text
    assert mv.reference_profile and mv.signature["inputs"]
