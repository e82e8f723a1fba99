"""Drift between data sets too large for one machine: both sides profiled on Ray, same bins.

The reference side is a :class:`~mainsail.data.Profile` already (a model version's
reference profile) or a Parquet source profiled first; the current side is profiled with
the reference's bin edges, so the two histograms compare bin for bin. The drift engine then
runs on the two profiles, as it does on live sketch windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mainsail.data._distributed import profile_parquet, ray_session
from mainsail.data._profile import Profile
from mainsail.monitoring._drift import DriftReport, drift


def drift_parquet(
    reference: Profile | str,
    current: str,
    *,
    columns: Sequence[str] | None = None,
    storage_options: dict[str, Any] | None = None,
    target_rows: int = 250_000,
    address: str | None = None,
    num_cpus: int = 2,
    **options: Any,
) -> DriftReport:
    """Drift of ``current`` (Parquet, local or ``s3://``) against ``reference``.

    ``options`` go to :func:`~mainsail.monitoring.drift` (``tests``, ``drift_share``, ...).

    Examples
    --------
    >>> report = drift_parquet("s3://lake/train/", "s3://lake/last-week/")  # doctest: +SKIP
    >>> report.drifted_columns  # doctest: +SKIP
    """
    kw: dict[str, Any] = {
        "columns": columns,
        "storage_options": storage_options,
        "target_rows": target_rows,
        "address": address,
        "num_cpus": num_cpus,
    }
    with ray_session(address, num_cpus):  # one cluster for both sides
        ref = reference if isinstance(reference, Profile) else profile_parquet(reference, **kw)
        cur = profile_parquet(current, reference=ref, **kw)
    if columns is not None:
        ref = Profile(row_count=ref.row_count, columns={c: ref.columns[c] for c in columns})
    return drift(ref, cur, **options)
