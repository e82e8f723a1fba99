"""Stored runs, read back: by id or by a unique prefix of one, metric series, artifacts."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from mainsail.core._errors import ArtifactNotFoundError, RunNotFoundError
from mainsail.core._schemas import Experiment, MetricPoint, Run
from mainsail.tracking._filter import parse_filter

if TYPE_CHECKING:
    from mainsail.store._context import Context

RUN_ID_LENGTH = 32
_PREFIX = re.compile(r"^[A-Za-z0-9-]+$")  # no LIKE wildcard, no quote


def get_run(ctx: Context, run_id: str) -> Run:
    """A stored run by id, with params, latest metrics, tags, artifacts and inputs.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.get_run(run.id).metrics  # doctest: +SKIP
    {'auc': 0.91}
    """
    return ctx.store.get_run(run_id)


def get_metric_history(ctx: Context, run_id: str, key: str) -> list[MetricPoint]:
    """Every logged point of one metric, ordered by step."""
    return ctx.store.metric_history(run_id, key)


def list_experiments(ctx: Context) -> list[Experiment]:
    """Experiments with their run counts (against a server: those the caller may view)."""
    return ctx.store.list_experiments()


def resolve_run(ctx: Context, ref: str) -> Run:
    """The run whose id is ``ref``, or starts with it (listings show 12 characters).

    Raises :class:`~mainsail.core.RunNotFoundError` when no run, or more than one, matches.
    """
    if len(ref) == RUN_ID_LENGTH or not _PREFIX.match(ref):
        return ctx.store.get_run(ref)
    found = ctx.store.search_runs(None, parse_filter(f"attributes.run_id LIKE '{ref}%'"), (), 2)
    found = [r for r in found if r.id.startswith(ref)]
    if len(found) != 1:
        raise RunNotFoundError(
            f"Expected a run id or a unique prefix of one. {ref!r} matches "
            f"{'no run' if not found else 'several runs'}. See 'mainsail runs list'."
        )
    return found[0]


def download_artifact(ctx: Context, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
    """Copy a run's artifact (file or folder) to ``dest``, verifying every digest.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.download_artifact(run.id, "model.skops", "/tmp/model.skops")  # doctest: +SKIP
    PosixPath('/tmp/model.skops')
    """
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
