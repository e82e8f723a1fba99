"""Where a version's reference data comes from, and the global importance measured on it.

``register_model(..., reference=X)`` takes ``X`` as the reference. Without it, the run the
version comes from may have logged its training dataset (``run.log_input(dv)``, context
``"training"``): its model-input columns are the reference. Only when neither exists does the
reference profile fall back to the few rows of the input example, and registration says so
(a logged warning naming what to pass).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mainsail.core._errors import MainsailError

if TYPE_CHECKING:
    from mainsail.store._context import Context

_log = logging.getLogger(__name__)

TRAINING_CONTEXT = "training"
#: The file in a model package holding a sample of the reference: the background rows of
#: the explanation methods that need some (permutation, Kernel SHAP, LIME).
REFERENCE_SAMPLE = "reference_sample.parquet"
#: Rows of the reference kept in the package (a deterministic sample).
REFERENCE_SAMPLE_ROWS = 200


def write_reference_sample(folder: Path, reference: pd.DataFrame) -> None:
    """Keep a bounded, deterministic sample of ``reference`` in the model package."""
    from mainsail.explanations._tabular import sample_rows

    sample_rows(reference, REFERENCE_SAMPLE_ROWS, seed=0).to_parquet(
        folder / REFERENCE_SAMPLE, index=False
    )


def read_reference_sample(folder: Path) -> pd.DataFrame | None:
    """The package's reference sample, ``None`` for a version registered without reference."""
    path = folder / REFERENCE_SAMPLE
    return pd.read_parquet(path) if path.exists() else None


def training_reference(
    ctx: Context, run_id: str | None, columns: list[str]
) -> tuple[pd.DataFrame | None, str]:
    """The model-input columns of the run's logged training dataset, and where they came from.

    Returns ``(frame, address)``, or ``(None, why not)`` when the run logged no training
    dataset, or the dataset lacks some of the model's inputs or cannot be read.
    """
    if run_id is None:
        return None, "the version has no run"
    inputs = [i for i in ctx.store.get_run(run_id).inputs if i.context == TRAINING_CONTEXT]
    if not inputs:
        return None, f"run {run_id} logged no training dataset (run.log_input(dataset))"
    from mainsail.data._datasets import load_dataset

    address = inputs[0].address
    try:
        frame = load_dataset(ctx, address)
    except MainsailError as exc:
        return None, f"its training dataset {address} could not be read: {exc}"
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        return None, (
            f"its training dataset {address} lacks the model input(s) {', '.join(missing)} "
            f"(it has: {', '.join(map(str, frame.columns))})"
        )
    return frame[columns].reset_index(drop=True), address


def warn_no_reference(name: str, rows: int, why: str) -> None:
    _log.warning(
        "Model %r: no reference data, so its reference profile (what monitors compare live "
        "traffic with) is the %d-row input example, and no global importance is stored: %s. "
        "Pass reference=<the training features> to register_model, or log the training "
        "dataset on the run (run.log_input(dataset)).",
        name,
        rows,
        why,
    )


def explain_reference(
    runtime: Any,
    *,
    flavor: str,
    columns: list[str],
    task: str,
    classes: list[Any] | None,
    label: str,
    reference: pd.DataFrame,
) -> dict[str, Any]:
    """Mean |SHAP| of the saved model on a bounded sample of ``reference`` (see
    :func:`mainsail.explanations._importance.importance_record`)."""
    from mainsail.explanations._importance import importance_record
    from mainsail.explanations._model import runtime_view

    def prepare(data: Any) -> pd.DataFrame:
        return pd.DataFrame(data)[columns].reset_index(drop=True)

    view = runtime_view(
        runtime,
        flavor=flavor,
        feature_names=columns,
        task=task,
        classes=classes,
        label=label,
        prepare_fn=prepare,
    )
    return importance_record(view, reference)


__all__ = [
    "REFERENCE_SAMPLE",
    "REFERENCE_SAMPLE_ROWS",
    "TRAINING_CONTEXT",
    "explain_reference",
    "read_reference_sample",
    "training_reference",
    "warn_no_reference",
    "write_reference_sample",
]
