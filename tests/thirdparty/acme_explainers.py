"""A third-party explainer, outside ``src/``: registered and used without editing the core.

Occlusion: a feature's attribution is how much the model's output drops when that feature
is replaced by its background mean; the base value takes up the rest, so the attributions
add up to the output by construction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mainsail.explanations import BackgroundRequiredError, Explanation, ModelView


class AcmeExplainer:
    exact = False
    needs_background = True
    auto_rank = None

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def supports(self, model: ModelView) -> bool:
        return model.task == "regression" or model.has_proba

    def explain(
        self, model: ModelView, X: pd.DataFrame, background: pd.DataFrame | None = None
    ) -> Explanation:
        if background is None:
            raise BackgroundRequiredError("The 'acme' explainer needs background=.")
        output = model.score(X)
        values = np.zeros((len(X), X.shape[1], output.shape[1]))
        for j, column in enumerate(X.columns):
            occluded = X.copy()
            occluded[column] = float(background[column].mean())
            values[:, j, :] = self.scale * (output - model.score(occluded))
        return Explanation(
            values=values,
            base_values=output - values.sum(axis=1),
            output=output,
            data=X,
            output_space=model.score_space(),
            method="acme",
            outputs=model.score_outputs(output.shape[1]),
            model=model.label,
            background_rows=len(background),
        )


class NotAnExplainer:
    """Has explain() but no supports(): check_explainer must refuse it."""

    def explain(self, model: Any, X: Any, background: Any = None) -> Any:
        return None
