"""Release-check results recorded on model versions."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class CheckStore(Protocol):
    """Check results, as rows: ``id, model, version, verdict, baseline_version, data_ref,
    policy, checks, summary, report_digest, html_digest, created_by, created_at``.

    A Mainsail server records a result a client sends as computed by that client: it sets
    ``created_by`` to the authenticated caller, ``summary["computed_by"]`` to ``"client"``
    and the reason to what the verdict rule gives, and refuses a verdict that does not
    follow from the outcomes and the policy, or report digests it does not hold. The
    ``require_checks`` alias gate ignores such results.
    """

    def create_check_result(self, name: str, version: int, **fields: Any) -> dict[str, Any]:
        """Record a result on version ``version`` of model ``name``; returns the stored row."""
        ...

    def list_check_results(
        self, name: str, version: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Results of a model (or one version), newest first; an unknown model or version
        is a :class:`~mainsail.core.ModelNotFoundError`."""
        ...

    def get_check_result(self, result_id: int) -> dict[str, Any] | None:
        """A result by id, or None."""
        ...
