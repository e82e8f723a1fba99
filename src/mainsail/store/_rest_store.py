"""The REST store: the :class:`~mainsail.store.protocols.Store` protocols over a Mainsail server.

Selected by ``MAINSAIL_TRACKING_URI=http://host:port``; the bearer token comes from
``MAINSAIL_TOKEN``. One mixin per domain, each the HTTP twin of the SQL store's.
"""

from __future__ import annotations

from mainsail.store._rest_artifacts import RestArtifactStore
from mainsail.store._rest_automation import RestAutomationMixin
from mainsail.store._rest_checks import RestCheckMixin
from mainsail.store._rest_client import RestClient
from mainsail.store._rest_jobs import RestJobMixin
from mainsail.store._rest_monitoring import RestMonitorMixin
from mainsail.store._rest_pipelines import RestPipelineMixin
from mainsail.store._rest_registry import RestRegistryMixin
from mainsail.store._rest_security import RestSecurityMixin
from mainsail.store._rest_tracking import RestTrackingMixin


class RestStore(
    RestTrackingMixin,
    RestRegistryMixin,
    RestPipelineMixin,
    RestJobMixin,
    RestCheckMixin,
    RestMonitorMixin,
    RestAutomationMixin,
    RestSecurityMixin,
):
    """The ``Store`` protocols over HTTP.

    Examples
    --------
    >>> store = RestStore(RestClient("http://127.0.0.1:8080", token="ms_..."))  # doctest: +SKIP
    >>> store.list_experiments()  # doctest: +SKIP
    []
    """

    def __init__(self, client: RestClient) -> None:
        self.client = client
        self.url = client.url

    def close(self) -> None:
        self.client.close()

    def schema_revision(self) -> str | None:
        """The server's readiness: it answers, and so does its database."""
        rev = self.client.json("GET", "/health/ready").get("schema_revision")
        return str(rev) if rev is not None else None


__all__ = ["RestArtifactStore", "RestClient", "RestStore"]
