"""The one interface every explanation method implements, and the registry of methods.

An explainer is a small estimator-style object: ``__init__`` only stores its options, then

- ``supports(model) -> bool`` says whether it can explain a :class:`ModelView`;
- ``explain(model, X, background=None) -> Explanation`` explains the validated rows ``X``
  (a DataFrame in the model's column order), measured against ``background`` rows when the
  method needs them.

Optional class attributes describe it to the core: ``exact`` (computes exact Shapley values),
``needs_background`` (cannot run without background data) and ``auto_rank`` (its place in
``method="auto"``'s order, lowest first; ``None``: never chosen automatically).

Methods are registered by name in :data:`EXPLAINERS` (a class, or its ``"module:Class"``);
third-party packages may declare them in the ``mainsail.explainers`` entry-point group.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from mainsail.core._errors import BackgroundRequiredError, InvalidValueError
from mainsail.core._plugins import Registry
from mainsail.explanations._explanation import Explanation
from mainsail.explanations._model import ModelView


def require_background(
    name: str, model: ModelView, background: pd.DataFrame | None, max_rows: int | None = None
) -> pd.DataFrame:
    """``background``, or the error that says what to pass."""
    if background is not None:
        return background
    registry = model.label.startswith("models:/")
    kept = (
        f" {model.label} was registered without reference= data, so the registry keeps no "
        "background rows for it."
        if registry
        else ""
    )
    used = f"; up to {max_rows} rows are used, sampled deterministically" if max_rows else ""
    raise BackgroundRequiredError(
        f"The {name!r} explainer needs background data: it measures each feature against "
        f"typical values of it.{kept} Pass background= (a DataFrame with the model's columns, "
        f"e.g. a sample of the training features{used})"
        + (
            ", or register the next version with reference=<the training features>."
            if registry
            else "."
        )
    )


@runtime_checkable
class Explainer(Protocol):
    """An explanation method: ``supports`` a model, ``explain`` rows of it."""

    def supports(self, model: ModelView) -> bool: ...

    def explain(
        self, model: ModelView, X: pd.DataFrame, background: pd.DataFrame | None = None
    ) -> Explanation: ...


def _instance(obj: Any) -> Any:
    if not inspect.isclass(obj):
        return obj
    try:
        return obj()
    except TypeError as exc:
        raise InvalidValueError(
            f"Explainer class {obj.__name__} must be constructible without arguments (options "
            f"are keyword arguments with defaults). Calling {obj.__name__}() failed: {exc}."
        ) from None


def check_explainer(obj: Any) -> Any:
    """Check that ``obj`` (an explainer, or its class) follows the :class:`Explainer` protocol.

    Returns the instance checked. Raises :class:`~mainsail.core.InvalidValueError` naming
    what is missing.

    Examples
    --------
    >>> from mainsail.explanations import LinearExplainer
    >>> check_explainer(LinearExplainer).exact
    True
    """
    inst = _instance(obj)
    what = type(inst).__name__
    missing = [m for m in ("supports", "explain") if not callable(getattr(inst, m, None))]
    if missing:
        raise InvalidValueError(
            "An explainer needs a callable supports(model) and explain(model, X, background=None)"
            f". {what} lacks: {', '.join(missing)}."
        )
    params = list(inspect.signature(inst.explain).parameters)
    if len(params) < 2 or "background" not in params:
        raise InvalidValueError(
            f"{what}.explain must take (model, X, background=None). "
            f"Got parameters: {', '.join(params) or 'none'}."
        )
    for attr in ("exact", "needs_background"):
        value = getattr(inst, attr, False)
        if not isinstance(value, bool):
            raise InvalidValueError(f"{what}.{attr} must be True or False. Got {value!r}.")
    rank = getattr(inst, "auto_rank", None)
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int)):
        raise InvalidValueError(
            f"{what}.auto_rank must be an integer (its place in method='auto', lowest first) "
            f"or None (never chosen automatically). Got {rank!r}."
        )
    return inst


def _validate(name: str, obj: Any) -> None:
    try:
        check_explainer(obj)
    except InvalidValueError as exc:
        raise InvalidValueError(f"Explainer {name!r} is not usable: {exc.message}") from None


#: Explanation methods by name.
EXPLAINERS: Registry[Any] = Registry("explainer", group="mainsail.explainers", validate=_validate)
EXPLAINERS.register("tree", "mainsail.explanations._tree:TreeExplainer")
EXPLAINERS.register("linear", "mainsail.explanations._linear:LinearExplainer")
EXPLAINERS.register("permutation", "mainsail.explanations._sampling:PermutationExplainer")
EXPLAINERS.register("kernel", "mainsail.explanations._sampling:KernelExplainer")
EXPLAINERS.register("lime", "mainsail.explanations._lime:LimeExplainer")


def register_explainer(name: str, target: Any, *, replace: bool = True) -> None:
    """Register an explainer class (or its ``"module:Class"``) under ``name``.

    Examples
    --------
    >>> register_explainer("acme", "acme_explainers:AcmeExplainer")  # doctest: +SKIP
    >>> explain(ctx, model, X, method="acme")  # doctest: +SKIP
    """
    EXPLAINERS.register(name, target, replace=replace)


def build_explainer(name: str, options: dict[str, Any]) -> Any:
    """An instance of the explainer called ``name``, with ``options`` (checked by name)."""
    target = EXPLAINERS.get(name)
    if not inspect.isclass(target) and not options:
        return target
    factory = target if inspect.isclass(target) else type(target)
    accepted = [
        p.name
        for p in inspect.signature(factory).parameters.values()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise InvalidValueError(
            f"Unknown option(s) for the {name!r} explainer: {', '.join(unknown)}. "
            f"Valid options are: {', '.join(accepted) or 'none'}."
        )
    return factory(**options)


__all__ = [
    "EXPLAINERS",
    "BackgroundRequiredError",
    "Explainer",
    "build_explainer",
    "check_explainer",
    "register_explainer",
    "require_background",
]
