"""Score a holdout too large for one process: Ray tasks predict shards, the driver scores.

Inference and reading are the expensive part and they parallelise: each task loads the
model version (verified against its digests, from the artifact store) and predicts its
shard of the Parquet holdout. The tasks return labels and outputs; the driver computes
the release-check metrics over all rows at once, so every metric (ROC-AUC included) is
exactly the single-process value. The driver holds the outputs (a few numbers per row),
never the features.

The checks runner can call :func:`score_parquet` where it now predicts the holdout in
process, when the holdout is a Parquet source larger than it wants to load.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mainsail.checks._metrics import get_metric, metric_names, score
from mainsail.core._errors import InvalidValueError
from mainsail.data._distributed import Shard, plan_shards, ray_session, read_shard

if TYPE_CHECKING:
    from mainsail.core._registry_schemas import ModelVersion
    from mainsail.core._settings import Settings
    from mainsail.store._context import Context


@dataclass
class HoldoutScore:
    """Metrics of one model version over a whole holdout, scored in shards."""

    version: str
    metrics: dict[str, float]
    rows: int
    shards: int
    seconds: float
    per_shard_rows: list[int] = field(default_factory=list)


def _predict_task(
    settings: Settings,
    version: ModelVersion,
    shard: Shard,
    label: str,
    protocol: str,
    storage_options: dict[str, Any] | None,
    want_proba: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    from mainsail.registry._registry import load_model
    from mainsail.store._context import open_context

    ctx = open_context(settings)
    try:
        model = load_model(ctx, version)
        frame = read_shard(shard, None, protocol, storage_options)
        y = frame[label].to_numpy()
        X = frame.drop(columns=[label])
        pred = model.predict(X)
        proba = model.predict_proba(X) if want_proba and model.has_proba else None
        model.unload()
        return y, pred, proba
    finally:
        ctx.close()


def score_parquet(
    ctx: Context,
    model: Any,
    data: str,
    label: str,
    *,
    metrics: Sequence[str] | None = None,
    target_rows: int = 250_000,
    storage_options: dict[str, Any] | None = None,
    address: str | None = None,
    num_cpus: int = 2,
) -> HoldoutScore:
    """Score ``model`` (an address or ModelVersion) on a Parquet holdout with Ray tasks.

    Parameters
    ----------
    ctx : the context the tasks rebuild (its settings) to reach the artifact store.
    data : a Parquet file or folder, local or ``s3://``, holding ``label`` and the inputs.
    metrics : metric names (default: the task's primary metrics); see
        :func:`~mainsail.checks._metrics.metric_names`.

    Examples
    --------
    >>> s = score_parquet(ctx, "models:/churn/4", "s3://lake/holdout/", "churned")  # doctest: +SKIP
    >>> s.metrics["roc_auc"]  # doctest: +SKIP
    """
    from mainsail.registry._registry import resolve_version

    version = resolve_version(ctx, model)
    task = version.task or ""
    names = list(metrics or [])
    if not names:
        from mainsail.checks._metrics import PRIMARY

        names = list(PRIMARY.get(task, ()))
    valid = metric_names(task) if task in ("classification", "regression") else []
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        raise InvalidValueError(
            f"Cannot score {version.address} (task {task!r}) with metric(s) "
            f"{', '.join(unknown) or 'none'}. Valid metrics for it are: {', '.join(valid) or 'none'}."
        )
    want_proba = any(get_metric(n, task).needs_proba for n in names)
    shards = plan_shards(data, storage_options, target_rows)
    from fsspec.core import url_to_fs

    fs, _ = url_to_fs(data, **(storage_options or {}))
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    started = time.perf_counter()
    with ray_session(address, num_cpus) as ray:
        remote = ray.remote(num_cpus=1, max_retries=1)(_predict_task)
        handles = [
            remote.remote(ctx.settings, version, s, label, protocol, storage_options, want_proba)
            for s in shards
        ]
        parts = ray.get(handles)
    y = np.concatenate([p[0] for p in parts])
    pred = np.concatenate([p[1] for p in parts])
    probas = [p[2] for p in parts]
    proba = np.concatenate(probas) if all(p is not None for p in probas) else None  # type: ignore[arg-type]
    scored = score(task, y, pred, proba, version.classes, label)
    values = {n: float(get_metric(n, task).point(scored)) for n in names}
    return HoldoutScore(
        version=version.address,
        metrics=values,
        rows=len(y),
        shards=len(shards),
        seconds=time.perf_counter() - started,
        per_shard_rows=[len(p[0]) for p in parts],
    )
