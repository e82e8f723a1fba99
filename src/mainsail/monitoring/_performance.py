"""Model performance from delayed labels: feedback joined to predictions by request id.

Labels arrive late (minutes to weeks) or never. A window's predictions are joined with
every label received so far, whenever it arrived; the share of predictions that have a
label (the *label coverage*) is reported with every figure, overall and per time bucket.
A request of several rows takes a list label (one per row) or one label for every row.
When a request id gets several labels, the latest one wins.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
import pandas as pd
from pydantic import BaseModel, Field

CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
#: Multiclass probability vectors also give the prevalence-weighted one-vs-rest ROC-AUC.
MULTICLASS_EXTRA = ("roc_auc_weighted",)
REGRESSION = ("mae", "rmse", "r2")


class PerformanceReport(BaseModel):
    task: str
    predictions: int
    labelled: int
    coverage: float
    metrics: dict[str, float | None]
    reference: dict[str, float] = Field(default_factory=dict)
    trend: list[dict[str, Any]] = Field(default_factory=list)
    late_labels: int = 0

    def scores(self) -> dict[str, float]:
        out = {
            "performance.coverage": self.coverage,
            "performance.labelled": float(self.labelled),
            "performance.predictions": float(self.predictions),
        }
        for k, v in self.metrics.items():
            if v is not None:
                out[f"performance.{k}"] = v
                if k in self.reference:
                    out[f"performance.{k}_delta"] = v - self.reference[k]
        return out

    def summary(self) -> str:
        figs = ", ".join(f"{k}={v:.4g}" for k, v in self.metrics.items() if v is not None)
        return (
            f"Performance ({self.task}): {figs or 'no labels yet'} "
            f"[label coverage {self.coverage:.1%}: {self.labelled}/{self.predictions}]"
        )


def _decode(label: Any) -> Any:
    if isinstance(label, str | bytes):
        try:
            return orjson.loads(label)
        except orjson.JSONDecodeError:
            return label
    return label


def join_labels(predictions: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """Prediction rows with a ``label`` column (NaN/None where no label has arrived).

    ``feedback`` has ``request_id``, ``label`` (JSON text, as the server writes it) and
    ``ts``; the latest label per request wins. Adds ``label_ts``.
    """
    out = predictions.copy()
    out["label"] = None
    out["label_ts"] = np.nan
    if feedback.empty or out.empty or "request_id" not in feedback:
        return out
    fb = feedback
    if "ts" in fb:
        fb = fb.sort_values("ts", kind="stable")
    fb = fb.drop_duplicates("request_id", keep="last")
    labels = dict(zip(fb["request_id"], fb["label"], strict=True))
    label_ts = dict(zip(fb["request_id"], fb["ts"], strict=True)) if "ts" in fb else {}
    rid = out["request_id"].to_numpy()
    row = out["row"].to_numpy() if "row" in out else np.zeros(len(out), dtype=int)
    values: list[Any] = []
    for r, i in zip(rid, row, strict=True):
        lab = labels.get(r)
        if lab is None:
            values.append(None)
            continue
        lab = _decode(lab)
        if isinstance(lab, list):
            values.append(lab[int(i)] if int(i) < len(lab) else None)
        else:
            values.append(lab)
    out["label"] = pd.Series(values, index=out.index, dtype=object)
    out["label_ts"] = [label_ts.get(r, np.nan) for r in rid]
    return out


def _proba(joined: pd.DataFrame) -> np.ndarray | None:
    for col in ("probability", "score", "proba"):
        if col in joined:
            return np.asarray(joined[col].tolist(), dtype="float64")
    return None


def _cls(v: Any) -> str:
    """One spelling per class: 1, 1.0, True and "1" are the same label."""
    if isinstance(v, bool | np.bool_):
        return str(int(v))
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v.item() if isinstance(v, np.generic) else v)


def _class_order(labels: set[str]) -> list[str]:
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def compute_metrics(
    y: np.ndarray,
    pred: np.ndarray,
    task: str,
    proba: np.ndarray | None = None,
    positive: Any = None,
    classes: list[Any] | None = None,
) -> dict[str, float | None]:
    """Classification or regression metrics; ``None`` where one cannot be computed.

    ``positive`` is the class whose probability ``proba`` holds: the model's last class
    (``ModelVersion.classes[-1]``). When it is unknown, the last of the labels seen in
    the order estimators give them (numbers as numbers, else text) stands in. When
    ``proba`` holds one probability per class of ``classes`` (more than two), ROC-AUC is
    the macro one-vs-rest mean over the classes (``roc_auc_weighted``: weighted by their
    prevalence), not the last class against the rest.
    """
    from sklearn import metrics as skm

    if len(y) == 0:
        names = CLASSIFICATION if task == "classification" else REGRESSION
        return dict.fromkeys(names)
    if task != "classification":
        yt, yp = np.asarray(y, dtype="float64"), np.asarray(pred, dtype="float64")
        r2 = float(skm.r2_score(yt, yp)) if len(yt) > 1 and np.var(yt) > 0 else None
        return {
            "mae": float(np.mean(np.abs(yt - yp))),
            "rmse": float(math.sqrt(np.mean((yt - yp) ** 2))),
            "r2": r2,
        }
    yt = np.array([_cls(v) for v in y])
    yp = np.array([_cls(v) for v in pred])
    classes = _class_order(set(yt) | set(yp))
    binary = len(classes) <= 2
    avg = "binary" if binary and len(classes) == 2 else "macro"
    # The model's last class is the one whose probability is logged. Only the model knows
    # it for sure: string labels "2" and "10" are ordered as text by the estimator
    # (["10", "2"]) although they read as numbers.
    known = _cls(positive) if positive is not None else None
    pos = classes[-1]
    if known is not None and (known in classes or avg != "binary"):
        pos = known  # a binary pos_label must be one of the labels seen, for sklearn
    kw: dict[str, Any] = {"zero_division": 0, "average": avg}
    if avg == "binary":
        kw["pos_label"] = pos
    out: dict[str, float | None] = {
        "accuracy": float(np.mean(yt == yp)),
        "precision": float(skm.precision_score(yt, yp, **kw)),
        "recall": float(skm.recall_score(yt, yp, **kw)),
        "f1": float(skm.f1_score(yt, yp, **kw)),
        "roc_auc": None,
        "log_loss": None,
    }
    if proba is not None and proba.ndim == 2 and classes and len(classes) > 2:
        out.update(_multiclass_proba(yt, proba, [_cls(c) for c in classes]))
    elif proba is not None:
        p = proba[:, -1] if proba.ndim == 2 else proba
        # Rows logged without a probability (NaN: e.g. a variant without predict_proba).
        has_p = np.isfinite(p)
        p, truth = p[has_p], (yt[has_p] == pos).astype(int)
        if len(set(truth)) == 2:
            out["roc_auc"] = float(skm.roc_auc_score(truth, p))
            out["log_loss"] = float(
                skm.log_loss(truth, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])
            )
    return out


def _multiclass_proba(yt: np.ndarray, proba: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """One-vs-rest ROC-AUC (macro and prevalence-weighted) and log loss over every class
    seen both as the label and not; ``None`` when fewer than two such classes."""
    from sklearn import metrics as skm

    out: dict[str, Any] = {"roc_auc": None, "log_loss": None, "roc_auc_weighted": None}
    if proba.shape[1] != len(classes):
        return out
    rows = np.all(np.isfinite(proba), axis=1) & np.isin(yt, classes)
    yt, proba = yt[rows], proba[rows]
    index = {c: i for i, c in enumerate(classes)}
    y_idx = np.array([index[c] for c in yt], dtype=np.intp)
    aucs, weights = [], []
    for k in range(len(classes)):
        positive = y_idx == k
        if 0 < positive.sum() < len(y_idx):
            aucs.append(float(skm.roc_auc_score(positive, proba[:, k])))
            weights.append(float(positive.sum()))
    if len(aucs) >= 2:
        out["roc_auc"] = float(np.mean(aucs))
        out["roc_auc_weighted"] = float(np.average(aucs, weights=weights))
    if len(y_idx):
        p = np.clip(proba, 1e-15, 1.0)
        p = p / p.sum(axis=1, keepdims=True)
        out["log_loss"] = float(skm.log_loss(y_idx, p, labels=list(range(len(classes)))))
    return out


def performance(
    predictions: pd.DataFrame,
    feedback: pd.DataFrame,
    task: str = "classification",
    reference: dict[str, float] | None = None,
    bucket_ms: int | None = None,
    window_end_ms: int | None = None,
    positive: Any = None,
    classes: list[Any] | None = None,
) -> PerformanceReport:
    """Join ``feedback`` to ``predictions`` and score the labelled rows.

    Parameters
    ----------
    predictions : prediction-log rows (``request_id``, ``row``, ``ts``, ``prediction``).
    feedback : feedback-log rows (``request_id``, ``label``, ``ts``), any arrival time.
    task : ``"classification"`` or ``"regression"``.
    reference : the model version's own metrics, to report deltas against.
    bucket_ms : also score each bucket of this width (the trend over time).
    window_end_ms : labels received after this count as late.
    positive : the class whose probability is logged, the model version's last class
        (``ModelVersion.classes[-1]``); ROC-AUC and log loss score it. Unknown (``None``):
        the last of the labels seen, numbers ordered as numbers.
    classes : the model version's classes, in the order of a logged probability vector
        (multiclass: ROC-AUC is one-vs-rest over them, macro and weighted).

    Examples
    --------
    >>> p = pd.DataFrame({"request_id": ["a", "b", "c"], "row": 0, "ts": 0, "prediction": [1, 0, 1]})
    >>> f = pd.DataFrame({"request_id": ["a", "b"], "label": ["1", "1"], "ts": 5})
    >>> r = performance(p, f)
    >>> r.coverage, r.metrics["accuracy"]
    (0.6666666666666666, 0.5)
    """
    task = "classification" if task == "classification" else "regression"
    joined = join_labels(predictions, feedback)
    n = len(joined)
    has = joined["label"].notna().to_numpy() if n else np.zeros(0, dtype=bool)
    lab = joined[has]
    proba = _proba(lab)
    pred = lab["prediction"].to_numpy() if "prediction" in lab else np.array([])
    metrics = compute_metrics(lab["label"].to_numpy(), pred, task, proba, positive, classes)
    ref = {k: float(v) for k, v in (reference or {}).items() if k in metrics}
    late = 0
    if window_end_ms is not None and len(lab):
        late = int((lab["label_ts"].to_numpy(dtype="float64") >= window_end_ms).sum())
    trend: list[dict[str, Any]] = []
    if bucket_ms and n and "ts" in joined:
        buckets = joined["ts"].to_numpy(dtype="int64") // bucket_ms * bucket_ms
        for b in np.unique(buckets):
            part = joined[buckets == b]
            m = part["label"].notna().to_numpy()
            lp = part[m]
            p = _proba(lp)
            trend.append(
                {
                    "start_ms": int(b),
                    "predictions": len(part),
                    "labelled": int(m.sum()),
                    "coverage": float(m.mean()),
                    **compute_metrics(
                        lp["label"].to_numpy(),
                        lp["prediction"].to_numpy(),
                        task,
                        p,
                        positive,
                        classes,
                    ),
                }
            )
    return PerformanceReport(
        task=task,
        predictions=n,
        labelled=int(has.sum()),
        coverage=float(has.mean()) if n else 0.0,
        metrics=metrics,
        reference=ref,
        trend=trend,
        late_labels=late,
    )
