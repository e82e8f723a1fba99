"""What an explainer sees of a model, whether it came as an estimator or from the registry.

A :class:`ModelView` gives every explainer the same handle: the native object when there is
one (a scikit-learn estimator, an XGBoost model, a LightGBM booster), the flavor, the
feature names in training order, the task and classes, input validation, and the model's
predictions. Registry models (:class:`~mainsail.registry.LoadedModel`) are validated against
their signature, the way ``predict`` validates them; native models against the columns they
were fitted on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mainsail.core._errors import InvalidValueError, SignatureMismatchError, UnsupportedModelError

if TYPE_CHECKING:
    from mainsail.store._context import Context

#: A profile must cover at least this many reference rows to stand in for background data.
MIN_REFERENCE_ROWS = 100


@dataclass(frozen=True, eq=False)
class ModelView:
    """A model as explainers see it.

    Parameters
    ----------
    native : object or None
        The estimator or booster the flavor wraps; ``None`` for ONNX and python-function
        models, which only predict.
    flavor : str
        ``sklearn``, ``xgboost``, ``lightgbm``, ``onnx``, ``pyfunc`` or ``python`` (any
        object with ``predict``).
    feature_names : list of str
        The model's inputs, in training order.
    task : str
        ``classification``, ``regression`` or ``other``.
    classes : list, optional
        Class labels of a classifier, in the order of ``predict_proba``'s columns.
    label : str
        What the model is, for messages and reports.
    reference_means : dict, optional
        Per-feature means of the registry version's reference data (from its profile).
    reference_rows : int, optional
        How many rows that profile covers.
    predict_fn, proba_fn : callable
        The model's predictions (and class probabilities, ``None`` without) on a prepared
        DataFrame; errors the model raises on the rows become ``InvalidValueError``.
    prepare_fn : callable
        Validates input rows and returns them as a DataFrame in training column order.
    unnamed : bool
        The native model was fitted on an array: it is called with arrays.
    background : DataFrame, optional
        Background rows kept with the model (a registry version's reference sample): the
        default ``background=`` of the methods that need one.
    """

    native: Any
    flavor: str
    feature_names: list[str]
    task: str
    classes: list[Any] | None
    label: str
    predict_fn: Callable[[pd.DataFrame], Any]
    proba_fn: Callable[[pd.DataFrame], Any] | None
    prepare_fn: Callable[[Any], pd.DataFrame]
    reference_means: dict[str, float] | None = None
    reference_rows: int | None = None
    unnamed: bool = False
    background: pd.DataFrame | None = None
    #: What explainers build once per model and reuse (e.g. shap's tree structures); it
    #: lives as long as the view, which a server keeps per served model.
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def model_input(self, X: pd.DataFrame) -> Any:
        """``X`` as the native model takes it: an array when it was fitted without names."""
        return X.to_numpy() if self.unnamed else X

    # -- inputs -------------------------------------------------------------------------------
    def prepare(self, data: Any, what: str = "X") -> pd.DataFrame:
        """``data`` checked against the model's inputs, columns in training order."""
        if data is None:
            raise InvalidValueError(f"Expected {what} as a table of model inputs. Got None.")
        frame = self.prepare_fn(data)
        if len(frame) == 0:
            raise InvalidValueError(
                f"Expected at least one row in {what}. Got an empty table "
                f"(columns: {', '.join(map(str, frame.columns))})."
            )
        return frame

    # -- outputs ------------------------------------------------------------------------------
    @property
    def has_proba(self) -> bool:
        return self.proba_fn is not None

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(_scored(self.predict_fn, X, self.label))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.proba_fn is None:
            raise InvalidValueError(f"{self.label} has no predict_proba.")
        return np.asarray(_scored(self.proba_fn, X, self.label), dtype="float64")

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """The output model-agnostic methods explain, shape (n, n_outputs).

        A classifier with probabilities: the positive class's probability (binary) or every
        class's. Otherwise the numeric prediction.
        """
        if self.task == "classification" and self.has_proba:
            proba = self.predict_proba(X)
            return proba[:, 1:2] if proba.shape[1] == 2 else proba
        pred = self.predict(X)
        if pred.dtype.kind not in "fiub":
            raise UnsupportedModelError(
                f"{self.label} predicts labels ({pred.dtype}) and has no predict_proba, so its "
                "output has no numeric scale to attribute. Explain a model that returns "
                "probabilities or numbers."
            )
        pred = pred.astype("float64")
        return pred.reshape(len(pred), -1)

    def score_space(self) -> str:
        """The output space of :meth:`score`."""
        return "probability" if self.task == "classification" and self.has_proba else "raw"

    def score_outputs(self, n_outputs: int) -> list[str]:
        """Names of :meth:`score`'s outputs."""
        return output_names(self.classes, n_outputs)


def output_names(classes: list[Any] | None, n_outputs: int) -> list[str]:
    """One name per output: the positive class of a binary model, every class of others."""
    if classes is not None:
        if len(classes) == 2 and n_outputs == 1:
            return [str(classes[1])]
        if len(classes) == n_outputs:
            return [str(c) for c in classes]
    return ["output"] if n_outputs == 1 else [f"output_{k}" for k in range(n_outputs)]


def _scored(fn: Callable[[pd.DataFrame], Any], X: pd.DataFrame, label: str) -> Any:
    # The model decides what it accepts (missing values, ranges): say so in our terms.
    try:
        return fn(X)
    except (ValueError, TypeError) as exc:
        raise InvalidValueError(
            f"{label} could not score the rows to explain: {exc}. Pass rows the model can "
            "predict on (for example, impute missing values if the model does not take them)."
        ) from exc


# -- building a view ------------------------------------------------------------------------
def model_view(ctx: Context | None, model: Any) -> ModelView:
    """The :class:`ModelView` of ``model``: an estimator, a loaded model, or an address.

    Addresses (``models:/churn@champion``, ``models:/churn/3``) and
    :class:`~mainsail.core.ModelVersion` objects are loaded through the registry with
    ``ctx``.
    """
    if isinstance(model, ModelView):
        return model
    from mainsail.core._registry_schemas import ModelVersion
    from mainsail.registry._registry import LoadedModel, load_model

    if isinstance(model, str | ModelVersion):
        if ctx is None:
            raise InvalidValueError(
                f"Explaining {model!r} needs a context to load it from the registry. "
                "Pass ctx (or load the model first and pass the loaded model)."
            )
        model = load_model(ctx, model)
    if isinstance(model, LoadedModel):
        return _loaded_view(model)
    return _native_view(model)


def _loaded_view(loaded: Any) -> ModelView:
    version = loaded.version
    names = list(loaded.signature.input_names)
    means, rows = _profile_means(version.reference_profile, names)
    return runtime_view(
        loaded.runtime,
        flavor=version.flavor,
        feature_names=names,
        task=version.task,
        classes=version.classes,
        label=version.address,
        prepare_fn=loaded.prepare,
        reference_means=means,
        reference_rows=rows,
        background=loaded.reference_sample(),
    )


def runtime_view(
    runtime: Any,
    *,
    flavor: str,
    feature_names: list[str],
    task: str,
    classes: list[Any] | None,
    label: str,
    prepare_fn: Callable[[Any], pd.DataFrame],
    reference_means: dict[str, float] | None = None,
    reference_rows: int | None = None,
    background: pd.DataFrame | None = None,
) -> ModelView:
    """The view of a loaded flavor runtime (a registry version's, or one being registered)."""
    native = _native_of(runtime)
    return ModelView(
        native=native,
        flavor=flavor,
        feature_names=feature_names,
        task=task,
        classes=classes,
        label=label,
        predict_fn=runtime.predict,
        proba_fn=runtime.predict_proba if runtime.has_proba else None,
        prepare_fn=prepare_fn,
        reference_means=reference_means,
        reference_rows=reference_rows,
        background=background,
        # a scikit-learn estimator fitted on an array warns when given named columns
        unnamed=native is not None
        and type(native).__module__.startswith("sklearn")
        and getattr(native, "feature_names_in_", None) is None
        and getattr(native, "n_features_in_", None) is not None,
    )


def _native_of(runtime: Any) -> Any:
    """The estimator or booster inside a flavor's runtime, ``None`` when there is none."""
    native = getattr(runtime, "native", None)
    if native is not None:
        return native
    if getattr(runtime, "flavor", None) in ("onnx", "pyfunc"):
        return None  # an inference session / a python function: predict only
    for attr in ("model", "booster"):
        obj = getattr(runtime, attr, None)
        if obj is not None:
            return obj
    return None


def _profile_means(
    profile: dict[str, Any] | None, names: list[str]
) -> tuple[dict[str, float] | None, int | None]:
    """Every feature's reference mean, when the profile has one for each and is big enough."""
    if not profile:
        return None, None
    from mainsail.data._profile import Profile

    prof = Profile.from_dict(profile)
    means: dict[str, float] = {}
    rows = None
    for name in names:
        col = prof.columns.get(name)
        mean = col.mean if col is not None and col.is_numeric else None
        if col is None or mean is None or col.missing:
            return None, None
        means[name] = float(mean)
        rows = col.total if rows is None else min(rows, col.total)
    if rows is None or rows < MIN_REFERENCE_ROWS:
        return None, None
    return means, rows


def _native_view(model: Any) -> ModelView:
    if not callable(getattr(model, "predict", None)):
        raise UnsupportedModelError(
            f"Cannot explain a {type(model).__module__}.{type(model).__name__} object: it has "
            "no predict method. Pass a fitted scikit-learn, XGBoost or LightGBM model, a model "
            "loaded with load_model, or an address like 'models:/churn@champion'."
        )
    from mainsail.runtimes import detect_flavor, task_of

    try:
        flavor = detect_flavor(model)
    except UnsupportedModelError:
        flavor = "python"
    if flavor in ("onnx", "pyfunc"):
        raise UnsupportedModelError(
            f"A native {flavor} model cannot be explained directly: register it and pass its "
            "address ('models:/name/1'), or pass the model returned by load_model."
        )
    names = _fitted_names(model)
    n_features = _fitted_count(model)
    task, classes = task_of(model)  # a raw XGBoost/LightGBM Booster: "other" (no classes)
    proba = getattr(model, "predict_proba", None)
    unnamed = names is None and type(model).__module__.startswith("sklearn")

    def as_input(fn: Callable[[Any], Any]) -> Callable[[pd.DataFrame], Any]:
        # scikit-learn warns when a model fitted on an array gets named columns
        return (lambda X: fn(X.to_numpy())) if unnamed else fn

    return ModelView(
        native=model,
        flavor=flavor,
        feature_names=names or [],
        task=task,
        classes=classes,
        label=type(model).__name__,
        predict_fn=as_input(model.predict),
        proba_fn=as_input(proba) if task == "classification" and callable(proba) else None,
        prepare_fn=lambda data: _check_native(data, names, n_features),
        unnamed=unnamed,
    )


def _fitted_names(model: Any) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    booster = None
    if hasattr(model, "get_booster"):
        try:
            booster = model.get_booster()
        except Exception:  # noqa: BLE001 - an unfitted wrapper: no names
            booster = None
    elif type(model).__module__.startswith("xgboost"):
        booster = model
    if booster is not None and getattr(booster, "feature_names", None):
        return [str(n) for n in booster.feature_names]
    lgb_booster = getattr(model, "booster_", None) if hasattr(model, "booster_") else None
    if lgb_booster is None and callable(getattr(model, "feature_name", None)):
        lgb_booster = model
    if lgb_booster is not None:
        lgb_names = [str(n) for n in lgb_booster.feature_name()]
        # LightGBM names unnamed inputs Column_0, Column_1, ...: those are not names
        if lgb_names != [f"Column_{i}" for i in range(len(lgb_names))]:
            return lgb_names
    return None


def _fitted_count(model: Any) -> int | None:
    for attr in ("n_features_in_", "n_features_"):
        n = getattr(model, attr, None)
        if isinstance(n, int | np.integer):
            return int(n)
    for method in ("num_features", "num_feature"):
        fn = getattr(model, method, None)
        if callable(fn):
            try:
                return int(fn())
            except Exception:  # noqa: BLE001 - not fitted, or not that kind of booster
                return None
    return None


def _check_native(data: Any, names: list[str] | None, n_features: int | None) -> pd.DataFrame:
    """Rows for a native model: its fitted columns, in order (extra columns are dropped)."""
    if isinstance(data, pd.Series):
        data = data.to_frame().T
    if isinstance(data, dict) or (isinstance(data, list) and data and isinstance(data[0], dict)):
        data = pd.DataFrame(data)
    if isinstance(data, pd.DataFrame):
        if names is None:
            if n_features is not None and data.shape[1] != n_features:
                raise SignatureMismatchError(
                    f"Expected a table with {n_features} columns (the model was fitted on "
                    f"{n_features} unnamed features). Got {data.shape[1]} columns: "
                    f"{', '.join(map(str, data.columns))}."
                )
            return data.reset_index(drop=True)
        missing = [n for n in names if n not in data.columns]
        if missing:
            raise SignatureMismatchError(
                f"Missing input column(s): {', '.join(missing)}. Expected columns: "
                f"{', '.join(names)}. Got: {', '.join(map(str, data.columns))}."
            )
        return data[names].reset_index(drop=True)
    arr = np.asarray(data)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    expected = len(names) if names is not None else n_features
    if arr.ndim != 2 or (expected is not None and arr.shape[1] != expected):
        listed = f" ({', '.join(names)})" if names else ""
        raise SignatureMismatchError(
            f"Expected a table with {expected} columns{listed}. Got an array of shape "
            f"{arr.shape}. Pass a DataFrame with named columns."
        )
    columns = names or [f"f{i}" for i in range(arr.shape[1])]
    return pd.DataFrame(arr, columns=columns)


__all__ = ["MIN_REFERENCE_ROWS", "ModelView", "model_view", "output_names", "runtime_view"]
