"""Task metrics: point values from ``sklearn.metrics`` and weighted forms for resampling.

Each metric has a direction (higher or lower is better). The weighted form takes a
matrix of row weights ``W`` (one row per bootstrap replicate, integer counts drawn from a
multinomial) and returns one value per replicate in a single vectorised pass; with
integer weights it equals the sklearn metric with ``sample_weight`` (a property test
holds it to that), so a 1,000-replicate bootstrap costs a few matrix products.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mainsail.core._errors import InvalidValueError

_EPS = 1e-15


@dataclass(frozen=True)
class Scored:
    """Encoded labels and model outputs on the same rows.

    For classification ``y`` and ``pred`` are class indices into ``classes`` and ``proba``
    has one column per class; for regression they are floats and ``proba`` is ``None``.
    """

    y: np.ndarray
    pred: np.ndarray
    proba: np.ndarray | None
    classes: list[Any] | None

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def n_classes(self) -> int:
        return len(self.classes or [])

    def take(self, idx: np.ndarray) -> Scored:
        return Scored(
            self.y[idx],
            self.pred[idx],
            None if self.proba is None else self.proba[idx],
            self.classes,
        )


@dataclass(frozen=True)
class Metric:
    name: str
    task: str
    higher_is_better: bool
    needs_proba: bool
    point: Callable[[Scored], float]
    weighted: Callable[[Scored, np.ndarray], np.ndarray]
    binary_only: bool = False

    def value(self, s: Scored) -> float:
        if not self.applies(s) or s.n == 0:
            return float("nan")
        try:
            return float(self.point(s))
        except ValueError:  # e.g. one class only in a slice: undefined
            return float("nan")

    def applies(self, s: Scored) -> bool:
        if self.needs_proba and s.proba is None:
            return False
        return not (self.binary_only and s.n_classes != 2)

    def replicate(self, s: Scored, W: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(self.weighted(s, np.asarray(W, dtype="float64")), dtype="float64")

    def better(self, a: float, b: float) -> float:
        """``a - b`` oriented so that positive means ``a`` is better."""
        return (a - b) if self.higher_is_better else (b - a)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


# -- classification ----------------------------------------------------------------------
def _acc_w(s: Scored, W: np.ndarray) -> np.ndarray:
    return _ratio(W @ (s.pred == s.y).astype(float), W.sum(axis=1))


def _bal_w(s: Scored, W: np.ndarray) -> np.ndarray:
    recalls = []
    for k in range(s.n_classes):
        in_k = (s.y == k).astype(float)
        if in_k.any():
            recalls.append(_ratio(W @ (in_k * (s.pred == k)), W @ in_k))
    stacked = np.vstack(recalls)
    return np.nanmean(stacked, axis=0) if len(recalls) else np.full(len(W), np.nan)


def _prf_w(which: str) -> Callable[[Scored, np.ndarray], np.ndarray]:
    def fn(s: Scored, W: np.ndarray) -> np.ndarray:
        classes = [1] if s.n_classes == 2 else range(s.n_classes)
        vals = []
        for k in classes:
            tp = W @ ((s.pred == k) & (s.y == k)).astype(float)
            fp = W @ ((s.pred == k) & (s.y != k)).astype(float)
            fn_ = W @ ((s.pred != k) & (s.y == k)).astype(float)
            if which == "precision":
                v = np.where(tp + fp > 0, _ratio(tp, tp + fp), 0.0)
            elif which == "recall":
                v = np.where(tp + fn_ > 0, _ratio(tp, tp + fn_), 0.0)
            else:
                v = np.where(2 * tp + fp + fn_ > 0, _ratio(2 * tp, 2 * tp + fp + fn_), 0.0)
            vals.append(v)
        return np.mean(np.vstack(vals), axis=0)

    return fn


def _prf_point(which: str) -> Callable[[Scored], float]:
    def fn(s: Scored) -> float:
        from sklearn import metrics

        average = "binary" if s.n_classes == 2 else "macro"
        f = {"precision": metrics.precision_score, "recall": metrics.recall_score}.get(
            which, metrics.f1_score
        )
        labels = list(range(s.n_classes))
        return float(f(s.y, s.pred, labels=labels, average=average, zero_division=0))

    return fn


def _true_proba(s: Scored) -> np.ndarray:
    assert s.proba is not None
    return np.clip(s.proba[np.arange(s.n), s.y], _EPS, 1.0)


def _logloss_w(s: Scored, W: np.ndarray) -> np.ndarray:
    return _ratio(W @ -np.log(_true_proba(s)), W.sum(axis=1))


def _logloss_point(s: Scored) -> float:
    from sklearn.metrics import log_loss

    assert s.proba is not None
    p = np.clip(s.proba, _EPS, 1.0)
    return float(log_loss(s.y, p / p.sum(axis=1, keepdims=True), labels=list(range(s.n_classes))))


def _brier_w(s: Scored, W: np.ndarray) -> np.ndarray:
    assert s.proba is not None
    return _ratio(W @ (s.proba[:, 1] - (s.y == 1)) ** 2, W.sum(axis=1))


def _brier_point(s: Scored) -> float:
    from sklearn.metrics import brier_score_loss

    assert s.proba is not None
    return float(brier_score_loss((s.y == 1).astype(int), s.proba[:, 1]))


def weighted_auc(score: np.ndarray, positive: np.ndarray, W: np.ndarray) -> np.ndarray:
    """ROC AUC of ``score`` for each row of weights ``W`` (ties count one half)."""
    order = np.argsort(score, kind="mergesort")
    s_sorted = score[order]
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    pos = positive[order].astype(float)
    Ws = W[:, order]
    pos_g = np.add.reduceat(Ws * pos, starts, axis=1)
    neg_g = np.add.reduceat(Ws * (1 - pos), starts, axis=1)
    below = np.cumsum(neg_g, axis=1) - neg_g
    num = (pos_g * (below + 0.5 * neg_g)).sum(axis=1)
    return _ratio(num, pos_g.sum(axis=1) * neg_g.sum(axis=1))


def _auc_w_by(average: str) -> Callable[[Scored, np.ndarray], np.ndarray]:
    def fn(s: Scored, W: np.ndarray) -> np.ndarray:
        assert s.proba is not None
        if s.n_classes == 2:
            return weighted_auc(s.proba[:, 1], s.y == 1, W)
        # one-vs-rest: each class against the rest, then the mean over classes (macro) or
        # the mean weighted by each class's (resampled) prevalence (weighted)
        per_class = np.vstack(
            [weighted_auc(s.proba[:, k], s.y == k, W) for k in range(s.n_classes)]
        )
        if average == "macro":
            return np.mean(per_class, axis=0)
        support = np.vstack([W @ (s.y == k) for k in range(s.n_classes)])
        return _ratio((per_class * support).sum(axis=0), support.sum(axis=0))

    return fn


def _auc_point_by(average: str) -> Callable[[Scored], float]:
    def fn(s: Scored) -> float:
        from sklearn.metrics import roc_auc_score

        assert s.proba is not None
        if s.n_classes == 2:
            return float(roc_auc_score(s.y == 1, s.proba[:, 1]))
        present = np.unique(s.y)
        if len(present) < s.n_classes:
            raise ValueError("a class is absent")
        onehot = np.eye(s.n_classes)[s.y]
        return float(roc_auc_score(onehot, s.proba, average=average))

    return fn


_auc_w, _auc_point = _auc_w_by("macro"), _auc_point_by("macro")


def _sk(fn_name: str, **kw: Any) -> Callable[[Scored], float]:
    def fn(s: Scored) -> float:
        from sklearn import metrics

        return float(getattr(metrics, fn_name)(s.y, s.pred, **kw))

    return fn


# -- regression ------------------------------------------------------------------------
def _mse_w(s: Scored, W: np.ndarray) -> np.ndarray:
    return _ratio(W @ (s.y - s.pred) ** 2, W.sum(axis=1))


def _mae_w(s: Scored, W: np.ndarray) -> np.ndarray:
    return _ratio(W @ np.abs(s.y - s.pred), W.sum(axis=1))


def _r2_w(s: Scored, W: np.ndarray) -> np.ndarray:
    sw = W.sum(axis=1)
    sse = W @ (s.y - s.pred) ** 2
    sst = W @ s.y**2 - _ratio((W @ s.y) ** 2, sw)
    return np.where(sst > 1e-12 * np.maximum(sw, 1), 1 - _ratio(sse, sst), np.nan)


def _r2_point(s: Scored) -> float:
    if np.ptp(s.y) == 0:
        return float("nan")
    from sklearn.metrics import r2_score

    return float(r2_score(s.y, s.pred))


def _rmse_point(s: Scored) -> float:
    from sklearn.metrics import mean_squared_error

    return float(np.sqrt(mean_squared_error(s.y, s.pred)))


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "classification", True, False, _sk("accuracy_score"), _acc_w),
        Metric(
            "balanced_accuracy",
            "classification",
            True,
            False,
            _sk("balanced_accuracy_score"),
            _bal_w,
        ),
        Metric("f1", "classification", True, False, _prf_point("f1"), _prf_w("f1")),
        Metric(
            "precision", "classification", True, False, _prf_point("precision"), _prf_w("precision")
        ),
        Metric("recall", "classification", True, False, _prf_point("recall"), _prf_w("recall")),
        Metric("roc_auc", "classification", True, True, _auc_point, _auc_w),
        # multiclass: one-vs-rest weighted by class prevalence (binary: roc_auc)
        Metric(
            "roc_auc_weighted",
            "classification",
            True,
            True,
            _auc_point_by("weighted"),
            _auc_w_by("weighted"),
        ),
        Metric("log_loss", "classification", False, True, _logloss_point, _logloss_w),
        Metric("brier", "classification", False, True, _brier_point, _brier_w, binary_only=True),
        Metric("rmse", "regression", False, False, _rmse_point, lambda s, W: np.sqrt(_mse_w(s, W))),
        Metric("mse", "regression", False, False, _sk("mean_squared_error"), _mse_w),
        Metric("mae", "regression", False, False, _sk("mean_absolute_error"), _mae_w),
        Metric("r2", "regression", True, False, _r2_point, _r2_w),
    )
}

#: The metric a comparison uses when the policy names none.
PRIMARY = {"classification": ("roc_auc", "accuracy"), "regression": ("rmse",)}


def metric_names(task: str | None = None) -> list[str]:
    return [n for n, m in METRICS.items() if task is None or m.task == task]


def get_metric(name: str, task: str) -> Metric:
    """The metric ``name`` for ``task``, or an error listing the valid ones."""
    m = METRICS.get(name)
    if m is None:
        raise InvalidValueError(
            f"Unknown metric {name!r}. Valid metrics are: {', '.join(metric_names())}."
        )
    if m.task != task:
        raise InvalidValueError(
            f"Metric {name!r} is for {m.task} models, but this model's task is {task!r}. "
            f"Valid metrics for {task}: {', '.join(metric_names(task)) or 'none'}."
        )
    return m


def primary_metric(task: str, s: Scored) -> Metric:
    for name in PRIMARY.get(task, ()):
        m = METRICS[name]
        if m.applies(s):
            return m
    raise InvalidValueError(
        f"Release checks that compare metrics need a classification or regression model. "
        f"This model's task is {task!r}."
    )


def encode_labels(y: Any, classes: list[Any], column: str) -> np.ndarray:
    """Class indices of the label values, or an error naming the values the model lacks."""
    import pandas as pd

    values = pd.Series(y).reset_index(drop=True)
    lookup = {c: i for i, c in enumerate(classes)}
    lookup_str = {str(c): i for i, c in enumerate(classes)}
    idx = values.map(lambda v: lookup.get(v, lookup_str.get(str(v), -1)))
    bad = values[idx.to_numpy() < 0]
    if len(bad):
        raise InvalidValueError(
            f"The label column {column!r} holds value(s) the model does not predict: "
            f"{', '.join(map(repr, bad.unique()[:5]))}. The model's classes are: "
            f"{', '.join(map(repr, classes))}. Check --label names the right column."
        )
    return idx.to_numpy(dtype="int64")


def score(
    task: str, y: Any, pred: np.ndarray, proba: np.ndarray | None, classes: Any, column: str
) -> Scored:
    """Encode labels and outputs for the metrics."""
    if task == "classification":
        cls = list(classes or [])
        if not cls:
            raise InvalidValueError("This classifier recorded no classes; cannot compute metrics.")
        return Scored(
            encode_labels(y, cls, column), encode_labels(pred, cls, "prediction"), proba, cls
        )
    if task == "regression":
        yv = np.asarray(y, dtype="float64")
        if np.isnan(yv).any():
            raise InvalidValueError(
                f"The label column {column!r} has missing values; drop those rows first."
            )
        return Scored(yv, np.asarray(pred, dtype="float64").reshape(len(yv)), None, None)
    raise InvalidValueError(
        f"Metrics need a classification or regression model; this one's task is {task!r}. "
        "Use robustness, budgets, schema, skew and smoke checks for it instead."
    )
