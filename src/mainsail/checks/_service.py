"""``mainsail.check``: where release checks run, and the function that asks for them.

Checks are a :class:`~mainsail.store.Service`: next to the database (embedded, and inside
the server) they run in this process (:class:`~mainsail.checks._runner.LocalChecks`).
Against a server (:class:`RemoteChecks`) they run **on the server** when the data is a
registered dataset and the server has every check the policy names; otherwise they run
here, with the model and the data read through the server, and the result is recorded on
the server as computed by this client.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Protocol

from mainsail.checks._policy import CheckPolicy, load_policy
from mainsail.checks._report import write_reports
from mainsail.checks._results import model_address
from mainsail.checks._runner import LocalChecks, dataset_ref
from mainsail.checks._types import CheckResult
from mainsail.core._errors import ConfigurationError
from mainsail.store._context import Service
from mainsail.store._rest_client import seg

if TYPE_CHECKING:
    import pandas as pd

    from mainsail.core._registry_schemas import ModelVersion
    from mainsail.store._context import Context


class CheckRuns(Protocol):
    """Runs a policy's checks on a model version and records the result on it."""

    def run(
        self,
        version: ModelVersion,
        data: Any,
        *,
        policy: CheckPolicy,
        label: str | None = None,
        baseline: str | None = None,
        progress: bool = True,
        endpoint: str | None = None,
        created_by: str | None = None,
    ) -> CheckResult: ...


class RemoteChecks:
    """Checks against a Mainsail server: run there when it can, else here and recorded there.

    The server runs them (``POST /models/{name}/versions/{v}/checks``; the result is the
    server's, so it may open a ``require_checks`` gate) when ``data`` is a registered
    dataset and every check the policy names is one the server has (``GET /checks/kinds``,
    asked once per context). Otherwise :class:`~mainsail.checks._runner.LocalChecks` runs
    them here and the server records the result as computed by this client.
    """

    def __init__(self, ctx: Context) -> None:
        api = ctx.remote
        if api is None:  # the Service builds this only for a server's context
            raise ConfigurationError(
                "RemoteChecks runs checks through a Mainsail server, and this context has none. "
                "Use ctx.service(CHECK_RUNS), which picks LocalChecks next to the database."
            )
        self.ctx = ctx
        self.api = api
        self.here = LocalChecks(ctx)
        self._server_checks: frozenset[str] | None = None
        self._lock = threading.Lock()

    def server_checks(self) -> frozenset[str]:
        """The checks the server runs (its registered policy keys)."""
        with self._lock:
            if self._server_checks is None:
                self._server_checks = frozenset(self.api.json("GET", "/checks/kinds")["checks"])
            return self._server_checks

    def run(
        self,
        version: ModelVersion,
        data: Any,
        *,
        policy: CheckPolicy,
        label: str | None = None,
        baseline: str | None = None,
        progress: bool = True,
        endpoint: str | None = None,
        created_by: str | None = None,
    ) -> CheckResult:
        ref = dataset_ref(data)
        if ref is None or not set(policy.sections) <= self.server_checks():
            return self.here.run(
                version,
                data,
                policy=policy,
                label=label,
                baseline=baseline,
                progress=progress,
                endpoint=endpoint,
                created_by=created_by,
            )
        body = {
            "data": ref,
            "baseline": baseline,
            "policy": policy.to_dict(),
            "label": label,
            "endpoint": endpoint,
        }
        path = f"/models/{seg(version.name)}/versions/{version.version}/checks"
        return CheckResult.model_validate(self.api.json("POST", path, json=body))


CHECK_RUNS: Service[CheckRuns] = Service(
    "release checks",
    local="mainsail.checks._runner:LocalChecks",
    remote="mainsail.checks._service:RemoteChecks",
)
"""Where :func:`check` runs a policy's checks for a context."""


def check(
    ctx: Context,
    model: str,
    data: str | pd.DataFrame,
    *,
    label: str | None = None,
    baseline: str | None = None,
    policy: str | os.PathLike[str] | dict[str, Any] | CheckPolicy | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    endpoint: str | None = None,
    created_by: str | None = None,
) -> CheckResult:
    """Run release checks on a model version and record a :class:`CheckResult` on it.

    Parameters
    ----------
    model : ``models:/churn/4`` (or ``churn/4``, ``churn@challenger``).
    data : ``datasets:/churn-holdout/2``, a Parquet/CSV file or a DataFrame holding the
        model's inputs and (for metric checks) the label column.
    label : the label column (default: ``label:`` in the policy).
    baseline : a version to compare with: ``@champion``, ``3`` or ``models:/churn/3``.
    policy : a YAML file, YAML text, dict or :class:`CheckPolicy` (see
        :mod:`mainsail.checks._policy` for every section).
    out_dir : also write ``report.json``, ``report.html`` and ``report.md`` there.
    progress : show a Rich progress bar.
    endpoint : compare the signature with what this endpoint serves today.
    created_by : who the result is recorded for (default: the OS user; the server passes
        the authenticated caller).

    Notes
    -----
    Against a server (``MAINSAIL_TRACKING_URI``), the check runs **on the server** when the
    data is a registered dataset and the server has every check in the policy (the
    built-in ones, and plug-ins installed there): the client sends the policy as JSON (a
    policy file is read here; the server never reads files a caller names) and the server
    loads the model and the data itself. Otherwise (a DataFrame or a local file, or a
    check registered only in this process) the checks run **here**, with the model and the
    data read through the server, and the result is recorded on the server, which
    re-derives the verdict from the outcomes, marks the result
    ``summary["computed_by"] == "client"`` and audits it as ``checks.record``. Such a
    result is listed like any other, but an alias set with ``require_checks=True`` ignores
    it: only a result Mainsail computed (on the server, or in-process when embedded) moves
    a gated alias.
    ``progress`` only shows for a local run. A server-side run compares only with versions
    of the same model (``baseline``).

    Examples
    --------
    >>> import mainsail
    >>> res = mainsail.check("models:/churn/4", "datasets:/churn-holdout/2",
    ...                      baseline="@champion",
    ...                      policy={"label": "churned", "metrics": {"roc_auc": {"min": 0.8}}})  # doctest: +SKIP
    >>> res.verdict  # doctest: +SKIP
    'blessed'
    """
    from mainsail.registry._registry import resolve_version

    pol = load_policy(policy)
    version = resolve_version(ctx, model_address(model))
    result = ctx.service(CHECK_RUNS).run(
        version,
        data,
        policy=pol,
        label=label,
        baseline=baseline,
        progress=progress,
        endpoint=endpoint,
        created_by=created_by,
    )
    if out_dir is not None:
        write_reports(result, out_dir)
    return result


__all__ = ["CHECK_RUNS", "CheckRuns", "RemoteChecks", "check"]
