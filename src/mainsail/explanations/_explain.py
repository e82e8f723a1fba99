"""Explain a model's predictions: per row (:func:`explain`) or globally (:func:`global_importance`).

``method="auto"`` takes the first registered explainer, in ``auto_rank`` order, that supports
the model: exact TreeSHAP for tree ensembles, then the closed form for linear models, then
the permutation sampler for anything that predicts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pandas as pd

from mainsail.core._errors import InvalidValueError, MainsailError, UnsupportedModelError
from mainsail.core._registry_schemas import ModelVersion
from mainsail.explanations._explanation import Explanation
from mainsail.explanations._model import ModelView, model_view
from mainsail.explanations._protocol import EXPLAINERS, build_explainer, require_background
from mainsail.explanations._tabular import sample_rows

if TYPE_CHECKING:
    from mainsail.store._context import Context

_log = logging.getLogger(__name__)

AUTO = "auto"
#: Rows :func:`global_importance` explains at most (a deterministic sample).
GLOBAL_MAX_ROWS = 1000


def auto_order() -> list[str]:
    """The explainers ``method="auto"`` tries, in order.

    A plug-in that fails to load is left out (and logged): one broken third-party entry
    must not stop every automatic explanation. Asking for it by name raises its error.
    """
    ranked = []
    for name in EXPLAINERS.names():
        try:
            plugin = EXPLAINERS.get(name)
        except MainsailError as exc:
            _log.warning("Explainer %r left out of method='auto': %s", name, exc)
            continue
        rank = getattr(plugin, "auto_rank", None)
        if rank is not None:
            ranked.append((rank, name))
    return [name for _, name in sorted(ranked)]


def choose_method(model: ModelView, method: str, options: dict[str, Any]) -> tuple[str, Any]:
    """``(name, explainer instance)`` for ``method`` (``"auto"`` or a registered name)."""
    if not isinstance(method, str):
        raise InvalidValueError(
            f"Expected method to be a name. Got {type(method).__name__}. Valid methods are: "
            f"{', '.join([AUTO, *EXPLAINERS.names()])}."
        )
    if method != AUTO:
        if method not in EXPLAINERS:
            raise InvalidValueError(
                f"Unknown explanation method {method!r}. Valid methods are: "
                f"{', '.join([AUTO, *EXPLAINERS.names()])}."
            )
        explainer = build_explainer(method, options)
        if not explainer.supports(model):
            raise UnsupportedModelError(
                f"The {method!r} explainer does not support {model.label} ({model.flavor}). "
                f"Use method='auto', or one of: {', '.join(_supporting(model)) or 'none'}."
            )
        return method, explainer
    for name in auto_order():
        candidate = build_explainer(name, {})
        if candidate.supports(model):
            return name, build_explainer(name, options) if options else candidate
    raise UnsupportedModelError(
        f"No explainer supports {model.label} ({model.flavor}). Registered explainers: "
        f"{', '.join(EXPLAINERS.names())}. A classifier needs predict_proba to be explained."
    )


def _supporting(model: ModelView) -> list[str]:
    names = []
    for name in EXPLAINERS.names():
        try:
            if build_explainer(name, {}).supports(model):
                names.append(name)
        except MainsailError:
            continue  # a broken plug-in: not a suggestion
    return names


def explain(
    ctx: Context | None,
    model: Any,
    X: Any,
    method: str = AUTO,
    background: Any = None,
    **options: Any,
) -> Explanation:
    """Attribute a model's output on the rows ``X`` to their features.

    Parameters
    ----------
    ctx : Context or None
        Needed to load ``model`` when it is an address; ``None`` for a model object.
    model : estimator, LoadedModel, ModelVersion or str
        A fitted scikit-learn / XGBoost / LightGBM model, a model from ``load_model``, or an
        address like ``"models:/churn@champion"`` or ``"models:/churn/3"`` (explained by
        the server when the context's store is a Mainsail server).
    X : DataFrame, records or 2-D array
        Rows to explain, validated like ``predict``'s input (named columns; extra columns
        are dropped).
    method : str, default "auto"
        ``"auto"`` (exact tree, then linear, then permutation), or a registered explainer:
        ``tree``, ``linear``, ``permutation``, ``kernel``, ``lime``, or your own.
    background : DataFrame, optional
        Typical inputs the sampling methods (and the linear closed form) measure against,
        e.g. a sample of the training features; the sampling methods use a deterministic
        sample of at most ``max_background`` rows. A registry version registered with
        ``reference=`` keeps a 200-row sample of it, used when ``background`` is not given. Exact TreeSHAP is path-dependent (it
        weighs each split by the training rows that went each way) and uses none.
    **options
        Options of the chosen explainer (``max_evals=``, ``n_samples=``, ``seed=``, ...).

    Returns
    -------
    Explanation

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 1.0, 0.0]})
    >>> model = LinearRegression().fit(X, [1.0, 3.0, 4.0])
    >>> e = explain(None, model, X, background=X)
    >>> e.method, e.output_space, round(e.additivity_error, 9)
    ('linear', 'raw', 0.0)
    """
    if ctx is not None and isinstance(model, str | ModelVersion):
        # a registry version is explained where the registry is: in this process when
        # embedded (and inside the server), by the server when the store is a server
        from mainsail.explanations._service import EXPLANATIONS
        from mainsail.registry._versions import resolve_version

        version = resolve_version(ctx, model)
        return ctx.service(EXPLANATIONS).explain(
            version, X, method=method, background=background, options=options
        )
    return explain_view(model_view(ctx, model), X, method, background, options)


def explain_view(
    view: ModelView, X: Any, method: str, background: Any, options: dict[str, Any]
) -> Explanation:
    """:func:`explain` on a model already wrapped in its :class:`ModelView`."""
    frame = view.prepare(X, "X")
    bg = view.prepare(background, "background") if background is not None else None
    name, explainer = choose_method(view, method, options)
    if getattr(explainer, "needs_background", False):
        if bg is None and view.background is not None:
            # the sample of the reference the version was registered with
            bg = view.prepare(view.background, "the version's reference sample")
        # the same error for every method that needs background, built-in or not
        require_background(name, view, bg, getattr(explainer, "max_background", None))
    result = explainer.explain(view, frame, bg)
    return _checked(result, name, frame)


def _checked(result: Any, name: str, frame: pd.DataFrame) -> Explanation:
    """A third-party explainer's result, held to the shape it promised."""
    if not isinstance(result, Explanation):
        raise InvalidValueError(
            f"The {name!r} explainer returned a {type(result).__name__}; an explainer must "
            "return a mainsail.explanations.Explanation."
        )
    if len(result) != len(frame) or result.feature_names != [str(c) for c in frame.columns]:
        raise InvalidValueError(
            f"The {name!r} explainer explained {len(result)} rows x "
            f"{len(result.feature_names)} features; expected {len(frame)} x {frame.shape[1]} "
            f"({', '.join(map(str, frame.columns))})."
        )
    result.method = name
    return result


def global_importance(
    ctx: Context | None,
    model: Any,
    X: Any,
    max_rows: int = GLOBAL_MAX_ROWS,
    method: str = AUTO,
    background: Any = None,
    seed: int = 0,
    **options: Any,
) -> pd.Series:
    """Mean |attribution| per feature over a bounded, deterministic sample of ``X``.

    ``X`` is typically the reference data (training features). It also serves as the
    background of the methods that need one, unless ``background=`` is given. For several
    outputs (multiclass), each row's |attributions| are summed over the classes.

    Returns
    -------
    pandas.Series
        Features, largest importance first. ``series.attrs`` holds ``method``,
        ``output_space``, ``rows`` (explained) and ``exact``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    >>> model = DecisionTreeClassifier(max_depth=3).fit(X, X["b"] > 0)
    >>> global_importance(None, model, X).index[0]  # doctest: +SKIP
    'b'
    """
    view = model_view(ctx, model)
    frame = view.prepare(X, "X")
    sample = sample_rows(frame, max_rows, seed)
    bg = view.prepare(background, "background") if background is not None else frame
    name, explainer = choose_method(view, method, options)
    result = _checked(explainer.explain(view, sample, bg), name, sample)
    importance = result.global_importance()
    importance.attrs.update(
        {
            "method": result.method,
            "output_space": result.output_space,
            "rows": len(sample),
            "exact": result.exact,
        }
    )
    return importance


__all__ = [
    "AUTO",
    "GLOBAL_MAX_ROWS",
    "auto_order",
    "choose_method",
    "explain",
    "explain_view",
    "global_importance",
]
