"""LIME (``lime`` package, the ``explain`` extra): a local linear fit around each row.

Numeric features are discretised into quartiles of the background, so a feature's
attribution is the local model's weight for "this feature is in the row's quartile" and
the base value is the local model's intercept: they add up to the local model's prediction
at the row, not exactly to the model's output. ``Explanation.additivity_error`` reports the
gap. Classifiers are explained in probability space, regressors in raw space.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mainsail.explanations import _deps
from mainsail.explanations._explanation import Explanation
from mainsail.explanations._model import ModelView
from mainsail.explanations._protocol import require_background
from mainsail.explanations._tabular import Codec, sample_rows


class LimeExplainer:
    """LIME for tabular models (``lime.lime_tabular.LimeTabularExplainer``).

    Parameters
    ----------
    n_samples : int, default 1000
        Perturbed samples drawn around each row.
    max_background : int, default 100
        Background rows that set the quartiles and the sampling distribution (a
        deterministic sample of ``background=``).
    seed : int, default 0
        Seeds the background sample and LIME's sampling.
    """

    exact: ClassVar[bool] = False
    needs_background: ClassVar[bool] = True
    auto_rank: ClassVar[int | None] = None

    def __init__(self, n_samples: int = 1000, max_background: int = 100, seed: int = 0) -> None:
        self.n_samples = n_samples
        self.max_background = max_background
        self.seed = seed

    def supports(self, model: ModelView) -> bool:
        return model.has_proba if model.task == "classification" else True

    def explain(
        self, model: ModelView, X: pd.DataFrame, background: pd.DataFrame | None = None
    ) -> Explanation:
        lime_tabular = _deps.lime_tabular()
        bg = sample_rows(
            require_background("lime", model, background, self.max_background),
            self.max_background,
            self.seed,
        )
        codec = Codec(X, bg)
        output = model.score(X)
        n, k = output.shape
        classify = model.task == "classification" and model.has_proba
        if classify:
            # LIME explains columns of predict_proba: class 1 of a binary model, else each
            labels = [1] if k == 1 else list(range(k))

            def predict(matrix: np.ndarray) -> np.ndarray:
                return model.predict_proba(codec.decode(matrix))
        else:
            labels = [1]  # LIME files a regression's weights under label 1

            def predict(matrix: np.ndarray) -> np.ndarray:
                return model.score(codec.decode(matrix))[:, 0]

        explainer = lime_tabular.LimeTabularExplainer(
            codec.encode(bg),
            mode="classification" if classify else "regression",
            feature_names=[str(c) for c in X.columns],
            categorical_features=codec.categorical_indices,
            discretize_continuous=True,
            feature_selection="none",
            random_state=self.seed,
        )
        rows = codec.encode(X)
        f = X.shape[1]
        values = np.zeros((n, f, k))
        base = np.zeros((n, k))
        for i in range(n):
            exp = explainer.explain_instance(
                rows[i],
                predict,
                labels=labels,
                num_features=f,
                num_samples=self.n_samples,
            )
            for j, label in enumerate(labels):
                for feature, weight in exp.local_exp[label]:
                    values[i, feature, j] = weight
                base[i, j] = float(_scalar(exp.intercept[label]))
        return Explanation(
            values=values,
            base_values=base,
            output=output,
            data=X,
            output_space=model.score_space(),
            method="lime",
            outputs=model.score_outputs(k),
            exact=False,
            model=model.label,
            background_rows=len(bg),
        )


def _scalar(v: Any) -> float:
    return float(np.asarray(v).reshape(-1)[0])


__all__ = ["LimeExplainer"]
