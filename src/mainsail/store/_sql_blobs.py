"""Which metadata references a blob, in SQL: the scope of blob reads through the server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from mainsail.store import _tables as t

if TYPE_CHECKING:
    from mainsail.store._db import Database


class BlobScopeMixin:
    """``BlobScopeStore`` over SQL; mixed into ``SqlStore``."""

    db: Database

    def blob_projects(self, digest: str) -> set[str]:
        queries = [
            sa.select(t.experiments.c.name)
            .join(t.runs, t.runs.c.experiment_id == t.experiments.c.id)
            .join(t.run_artifacts, t.run_artifacts.c.run_id == t.runs.c.id)
            .where(t.run_artifacts.c.digest == digest),
            sa.select(t.datasets.c.name)
            .join(t.dataset_versions, t.dataset_versions.c.dataset_id == t.datasets.c.id)
            .where(t.dataset_versions.c.blob_digest == digest),
            sa.select(t.models.c.name)
            .join(t.model_versions, t.model_versions.c.model_id == t.models.c.id)
            .where(t.model_versions.c.manifest_digest == digest),
            sa.select(t.models.c.name)
            .join(t.check_results, t.check_results.c.model_id == t.models.c.id)
            .where(
                sa.or_(
                    t.check_results.c.report_digest == digest,
                    t.check_results.c.html_digest == digest,
                )
            ),
            sa.select(t.monitors.c.endpoint)
            .join(t.monitor_results, t.monitor_results.c.monitor_id == t.monitors.c.id)
            .where(t.monitor_results.c.report_digest == digest),
        ]
        with self.db.read() as conn:
            return {str(name) for name in conn.execute(sa.union(*queries)).scalars()}

    def uploaded_blob(self, actor: str, digest: str) -> bool:
        ev = t.audit_events.c
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(ev.id)
                .where(
                    ev.target == f"artifacts/{digest}",
                    ev.action == "artifacts.upload",
                    ev.actor == actor,
                    ev.status < 400,
                )
                .limit(1)
            ).first()
        return row is not None
