"""The SDK facade: the functions users call as ``mainsail.<name>``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mainsail.client._context import get_context
from mainsail.core._errors import ArtifactNotFoundError, InvalidValueError, MainsailError
from mainsail.core._schemas import DatasetVersion, MetricPoint, Run
from mainsail.tracking import _run as _runs

if TYPE_CHECKING:
    import pandas as pd

    from mainsail.data._validate import ValidationReport


# -- runs --------------------------------------------------------------------------------
def start_run(
    experiment: str = "default",
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> _runs.ActiveRun:
    """Start a run; use it as a context manager so it ends (finished or failed) by itself.

    Examples
    --------
    >>> import mainsail
    >>> with mainsail.start_run(experiment="churn", params={"depth": 3}) as run:  # doctest: +SKIP
    ...     run.log_metric("auc", 0.91, step=3)
    """
    return _runs.start_run(get_context(), experiment, name, params, tags)


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


def get_run(run_id: str) -> Run:
    """A stored run by id, with params, latest metrics, tags, artifacts and inputs."""
    return get_context().store.get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[MetricPoint]:
    """Every logged point of one metric, ordered by step."""
    return get_context().store.metric_history(run_id, key)


def search_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = 1000,
) -> pd.DataFrame:
    """Runs as a DataFrame, filtered like ``"metrics.auc > 0.9 and params.depth = '3'"``.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.search_runs("churn", filter="metrics.auc > 0.9", order_by=["metrics.auc DESC"])  # doctest: +SKIP
    """
    from mainsail.tracking._search import find_runs, runs_to_frame

    return runs_to_frame(find_runs(get_context(), experiment, filter, order_by, max_results))


def find_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = 1000,
) -> list[Run]:
    """Like :func:`search_runs` but returns ``Run`` objects."""
    from mainsail.tracking._search import find_runs as _find

    return _find(get_context(), experiment, filter, order_by, max_results)


def download_artifact(run_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
    """Copy a run's artifact (file or folder) to ``dest``, verifying every digest."""
    ctx = get_context()
    run = ctx.store.get_run(run_id)
    for a in run.artifacts:
        if a.path == path:
            if a.kind == "dir":
                return ctx.artifacts.get_dir(a.digest, dest)
            return ctx.artifacts.get_file(a.digest, dest)
    raise ArtifactNotFoundError(
        f"Run {run_id} has no artifact {path!r}. Its artifacts are: "
        + (", ".join(a.path for a in run.artifacts) or "none")
        + "."
    )


def seed_everything(seed: int) -> int:
    from mainsail.tracking._seed import seed_everything as _seed

    return _seed(seed)


def autolog(experiment: str = "default", disable: bool = False) -> None:
    from mainsail.tracking._autolog import autolog as _autolog

    _autolog(get_context(), experiment=experiment, disable=disable)


# -- datasets ------------------------------------------------------------------------------
def log_dataset(
    data: pd.DataFrame | str | os.PathLike[str],
    name: str,
    description: str | None = None,
    parents: list[str] | None = None,
    source: str | None = None,
) -> DatasetVersion:
    """Store an immutable dataset version (an unchanged table returns the existing one).

    Examples
    --------
    >>> import mainsail, pandas as pd
    >>> dv = mainsail.log_dataset(pd.DataFrame({"x": [1, 2]}), name="toy")  # doctest: +SKIP
    >>> dv.address  # doctest: +SKIP
    'datasets:/toy/1'
    """
    from mainsail.data._datasets import log_dataset as _log

    return _log(get_context(), data, name, description, parents, source)


def get_dataset(address: str) -> DatasetVersion:
    """Metadata (schema, profile, lineage) of ``datasets:/name/3`` or ``datasets:/name@latest``."""
    from mainsail.data._datasets import resolve_dataset_version

    return resolve_dataset_version(get_context(), address)


def load_dataset(address: str | DatasetVersion) -> pd.DataFrame:
    """The table of a dataset version, verified against its digest."""
    from mainsail.data._datasets import load_dataset as _load

    return _load(get_context(), address)


def validate(
    df: pd.DataFrame, schema: Any, strict: bool = False, max_examples: int = 5
) -> ValidationReport:
    """Check ``df`` against a schema, a DatasetVersion or a dataset address; every violation.

    With ``strict=True`` a failing report raises :class:`~mainsail.core.DataValidationError`.
    """
    from mainsail.data._schema import Schema
    from mainsail.data._validate import validate as _validate

    if isinstance(schema, str):
        schema = get_dataset(schema)
    if isinstance(schema, DatasetVersion):
        schema = Schema.from_dict(schema.schema_)
    if not isinstance(schema, Schema):
        raise InvalidValueError(
            "Expected a Schema, a DatasetVersion or a dataset address like "
            f"'datasets:/transactions/3'. Got {type(schema).__name__}."
        )
    return _validate(df, schema, strict=strict, max_examples=max_examples)
