"""The SDK facade for tracking and datasets: the functions users call as ``mainsail.<name>``.

Each domain function is bound to the process context with :func:`~mainsail.client._bind.sdk`;
what is left here is what only the SDK has: the active run of this thread.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mainsail.client._bind import sdk
from mainsail.client._context import get_context
from mainsail.core._errors import MainsailError
from mainsail.data import _datasets
from mainsail.tracking import _autolog, _search, _stored
from mainsail.tracking import _run as _runs

if TYPE_CHECKING:
    import pandas as pd

    from mainsail.core._schemas import DatasetVersion
    from mainsail.data._schema import Schema
    from mainsail.data._validate import ValidationReport

# -- runs --------------------------------------------------------------------------------
start_run = sdk(_runs.start_run)
get_run = sdk(_stored.get_run)
get_metric_history = sdk(_stored.get_metric_history)
search_runs = sdk(_search.search_runs)
find_runs = sdk(_search.find_runs)
download_artifact = sdk(_stored.download_artifact)
autolog = sdk(_autolog.autolog)


def active_run() -> _runs.ActiveRun | None:
    """The run started most recently in this thread and not yet ended, if any."""
    return _runs.active_run()


def _current() -> _runs.ActiveRun:
    run = _runs.active_run()
    if run is None:
        raise MainsailError(
            "Expected an active run; there is none. Start one with mainsail.start_run() "
            "(for example: with mainsail.start_run(experiment='churn') as run: ...)."
        )
    return run


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Log a metric to the active run."""
    _current().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    _current().log_metrics(metrics, step)


def log_param(key: str, value: Any) -> None:
    _current().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _current().log_params(params)


def set_tag(key: str, value: Any) -> None:
    _current().set_tag(key, value)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    return _current().log_artifact(local_path, artifact_path)


def end_run(status: str = "finished") -> None:
    """End the active run."""
    _current().end(status)


def seed_everything(seed: int) -> int:
    from mainsail.tracking._seed import seed_everything as _seed

    return _seed(seed)


# -- datasets ------------------------------------------------------------------------------
log_dataset = sdk(_datasets.log_dataset)
get_dataset = sdk(_datasets.get_dataset)
load_dataset = sdk(_datasets.load_dataset)


def validate(
    df: pd.DataFrame,
    schema: Schema | DatasetVersion | str,
    strict: bool = False,
    max_examples: int = 5,
) -> ValidationReport:
    """Check ``df`` against a schema, a DatasetVersion or a dataset address; every violation.

    With ``strict=True`` a failing report raises :class:`~mainsail.core.DataValidationError`.
    """
    return _datasets.validate_dataset(get_context(), df, schema, strict, max_examples)
