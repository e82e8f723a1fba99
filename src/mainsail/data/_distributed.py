"""Profiles of Parquet data too large for one machine: one Ray task per shard, merged.

A profile is mergeable (counts and histograms add, KLL sketches merge) as long as every
shard bins its numeric columns with the same edges. So without a reference profile the
work is two passes over the shards: the first merges each column's quantile sketch to
choose the edges, the second profiles every shard with them and merges the results. With
a reference (a training profile, to compare against) one pass suffices, and its bins are
exactly the reference's.

Ray: a local cluster of ``num_cpus`` CPUs is started for the call (and shut down after),
or ``address`` / ``MAINSAIL_RAY_ADDRESS`` connects to a running one (left running). Each
task asks for one CPU and reads only its own row groups, so a cluster of N CPUs holds at
most N shards in memory at once; the driver holds only profiles. Workers of a remote
cluster must reach the data (S3, or a shared folder) and have ``mainsail`` installed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mainsail.core._errors import InvalidValueError
from mainsail.core._optional import import_optional
from mainsail.data._profile import ColumnProfile, Profile, _edges_from, profile_frame
from mainsail.data._schema import Schema


@dataclass(frozen=True)
class Shard:
    """Some row groups of one Parquet file."""

    path: str
    row_groups: tuple[int, ...]
    rows: int


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int = 2) -> Iterator[Any]:
    """The ``ray`` module with a cluster to use: connect to ``address`` (or
    ``MAINSAIL_RAY_ADDRESS``), reuse an initialised one, or start a local one for the block.

    A local cluster's workers inherit this process's environment: ``PYTHONPATH`` is set to
    the current import path first, so they import the same ``mainsail``.
    """
    ray = import_optional("ray", extra="ray")
    address = address or os.environ.get("MAINSAIL_RAY_ADDRESS") or None
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
    }
    if address:
        kwargs["address"] = address
    else:
        if num_cpus < 1:
            raise InvalidValueError(
                f"Expected num_cpus >= 1 for a local Ray cluster. Got {num_cpus}."
            )
        kwargs["num_cpus"] = num_cpus
    before = os.environ.get("PYTHONPATH")
    if not address:
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    try:
        ray.init(**kwargs)
    finally:
        if not address:
            if before is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = before
    try:
        yield ray
    finally:
        ray.shutdown()


def _filesystem(source: str, storage_options: dict[str, Any] | None) -> tuple[Any, str]:
    from fsspec.core import url_to_fs

    return url_to_fs(source, **(storage_options or {}))


def plan_shards(
    source: str, storage_options: dict[str, Any] | None = None, target_rows: int = 250_000
) -> list[Shard]:
    """Cut a Parquet file or folder into shards of about ``target_rows`` rows (whole row
    groups; a row group is never split)."""
    import pyarrow.parquet as pq

    if target_rows < 1:
        raise InvalidValueError(f"Expected target_rows >= 1. Got {target_rows}.")
    fs, path = _filesystem(source, storage_options)
    if not fs.exists(path):
        raise InvalidValueError(
            f"Expected a Parquet file or a folder of Parquet files at {source!r}. Nothing is there."
        )
    files = (
        sorted(p for p in fs.find(path) if p.endswith(".parquet") and "/." not in p)
        if fs.isdir(path)
        else [path]
    )
    if not files:
        raise InvalidValueError(f"The folder {source!r} holds no .parquet files.")
    shards: list[Shard] = []
    for file in files:
        with fs.open(file, "rb") as f:
            meta = pq.ParquetFile(f).metadata
        group: list[int] = []
        rows = 0
        for i in range(meta.num_row_groups):
            group.append(i)
            rows += meta.row_group(i).num_rows
            if rows >= target_rows:
                shards.append(Shard(file, tuple(group), rows))
                group, rows = [], 0
        if group:
            shards.append(Shard(file, tuple(group), rows))
    return shards


def read_shard(
    shard: Shard,
    columns: Sequence[str] | None,
    protocol: str,
    storage_options: dict[str, Any] | None,
) -> Any:
    """The shard's rows as a DataFrame (only its row groups are read)."""
    import fsspec
    import pyarrow.parquet as pq

    fs = fsspec.filesystem(protocol, **(storage_options or {}))
    with fs.open(shard.path, "rb") as f:
        table = pq.ParquetFile(f).read_row_groups(list(shard.row_groups), columns=columns)
    return table.to_pandas()


def _profile_task(
    shard: Shard,
    columns: Sequence[str] | None,
    protocol: str,
    storage_options: dict[str, Any] | None,
    schema: dict[str, Any] | None,
    reference: dict[str, Any] | None,
    bins: int,
) -> dict[str, Any]:
    frame = read_shard(shard, columns, protocol, storage_options)
    return profile_frame(
        frame,
        schema=Schema.model_validate(schema) if schema else None,
        reference=Profile.from_dict(reference) if reference else None,
        bins=bins,
    ).to_dict()


def _schema_of(shard: Shard, columns: Sequence[str] | None, protocol: str, options: Any) -> Schema:
    """Column kinds fixed once (from the first shard), so every shard profiles alike."""
    from mainsail.data._schema import infer_schema

    return infer_schema(read_shard(shard, columns, protocol, options))


def _edges(profiles: list[dict[str, Any]], bins: int) -> Profile:
    """A reference holding only bin edges: each numeric column's merged sketch, cut in bins."""
    sketches: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    for doc in profiles:
        for name, col in Profile.from_dict(doc).columns.items():
            if not col.is_numeric:
                continue
            kinds[name] = col.dtype
            if name in sketches:
                sketches[name].merge(col.sketch())
            else:
                sketches[name] = col.sketch()
    return Profile(
        columns={
            n: ColumnProfile(dtype=kinds[n], edges=_edges_from(sk, bins))
            for n, sk in sketches.items()
        }
    )


def profile_parquet(
    source: str,
    *,
    columns: Sequence[str] | None = None,
    reference: Profile | None = None,
    bins: int = 20,
    target_rows: int = 250_000,
    storage_options: dict[str, Any] | None = None,
    address: str | None = None,
    num_cpus: int = 2,
) -> Profile:
    """Profile a Parquet file or folder (local or ``s3://``) with Ray tasks, one per shard.

    Parameters
    ----------
    source : a Parquet file, or a folder of them (read recursively).
    columns : the columns to profile (default: all).
    reference : bin numeric columns with this profile's edges (one pass); columns it does
        not bin get their edges from the merged quantile sketches of a first pass.
    bins : histogram bins when there is no reference.
    target_rows : rows per shard (whole row groups).
    storage_options : fsspec options for the source (e.g. ``{"client_kwargs": {...}}``).
    address, num_cpus : the Ray cluster (see :func:`ray_session`).

    Examples
    --------
    >>> prof = profile_parquet("s3://lake/transactions/", num_cpus=2)  # doctest: +SKIP
    >>> prof.row_count, prof.columns["amount"].quantile(0.5)  # doctest: +SKIP
    """
    shards = plan_shards(source, storage_options, target_rows)
    fs, _ = _filesystem(source, storage_options)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    schema = _schema_of(shards[0], columns, protocol, storage_options)
    numeric = [c.name for c in schema.columns if c.dtype in ("int", "float", "datetime")]
    given = reference.columns if reference is not None else {}
    unbinned = [n for n in numeric if n not in given or given[n].edges is None]
    with ray_session(address, num_cpus) as ray:
        task = ray.remote(num_cpus=1, max_retries=1)(_profile_task)
        common = (protocol, storage_options, schema.model_dump(mode="json"))
        edges = Profile()
        if unbinned:  # first pass: the merged sketches of the columns no reference bins
            first = ray.get([task.remote(s, unbinned, *common, None, bins) for s in shards])
            edges = _edges(first, bins)
        ref = Profile(columns={**edges.columns, **given}).to_dict()
        parts = ray.get([task.remote(s, columns, *common, ref, bins) for s in shards])
    merged = Profile.from_dict(parts[0])
    for doc in parts[1:]:
        merged = merged.merge(Profile.from_dict(doc))
    return merged
