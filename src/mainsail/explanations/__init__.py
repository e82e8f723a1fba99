"""Explainability: why a model predicts what it predicts, per row and globally.

:func:`explain` attributes a model's output on some rows to their features and returns an
:class:`Explanation` (attributions, base values, the output they add up to, its space);
:func:`global_importance` gives the mean |attribution| per feature on a bounded sample;
:func:`write_report` writes a self-contained HTML report of an explanation.

Methods sit behind one :class:`Explainer` protocol, registered by name in
:data:`EXPLAINERS`: ``tree`` (exact TreeSHAP: XGBoost, LightGBM, scikit-learn trees,
forests and gradient boosting), ``linear`` (exact closed form), ``permutation`` and
``kernel`` (shap's model-agnostic samplers), ``lime``. shap, lime, xgboost and lightgbm are
imported only when a method runs (``pip install 'mainsail[explain]'``).

Examples
--------
>>> import pandas as pd
>>> from sklearn.linear_model import LinearRegression
>>> from mainsail.explanations import explain
>>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 1.0, 0.0]})
>>> e = explain(None, LinearRegression().fit(X, [1.0, 3.0, 4.0]), X, background=X)
>>> list(e.global_importance().index)
['a', 'b']
"""

from mainsail.explanations._explain import auto_order, explain, global_importance
from mainsail.explanations._explanation import OUTPUT_SPACES, Explanation, OutputSpace
from mainsail.explanations._lime import LimeExplainer
from mainsail.explanations._linear import LinearExplainer
from mainsail.explanations._model import ModelView, model_view
from mainsail.explanations._protocol import (
    EXPLAINERS,
    BackgroundRequiredError,
    Explainer,
    check_explainer,
    register_explainer,
)
from mainsail.explanations._report import write_report
from mainsail.explanations._sampling import KernelExplainer, PermutationExplainer
from mainsail.explanations._tabular import sample_rows
from mainsail.explanations._tree import TreeExplainer

__all__ = [
    "EXPLAINERS",
    "OUTPUT_SPACES",
    "BackgroundRequiredError",
    "Explainer",
    "Explanation",
    "KernelExplainer",
    "LimeExplainer",
    "LinearExplainer",
    "ModelView",
    "OutputSpace",
    "PermutationExplainer",
    "TreeExplainer",
    "auto_order",
    "check_explainer",
    "explain",
    "global_importance",
    "model_view",
    "register_explainer",
    "sample_rows",
    "write_report",
]
