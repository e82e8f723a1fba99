"""The context every domain function works on: settings, the metadata store and artifacts.

A :class:`Context` is built by a composition root and passed down explicitly:

- ``mainsail.client`` builds the SDK's process context from ``MAINSAIL_*`` settings
  (SQL store on a laptop, REST store with ``MAINSAIL_TRACKING_URI``);
- ``mainsail.server`` builds its own over the SQL store and hands it to every route;
- tests build as many as they like.

Nothing below ``client/`` looks a context up; domain functions take it as their first
parameter (``registry.register_model(ctx, ...)``, ``rollout.deploy(ctx, ...)``).

Most domains persist through the :class:`~mainsail.store.protocols.Store` protocols, which
both the SQL and the REST store implement. An operation that must run next to the data
(deploy a model, run a server-side check, evaluate a monitor) is a :class:`Service`: a
protocol with a local implementation (the domain logic, over the SQL store) and a remote one
(the server's route). The context picks the implementation once, by where it stands.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from mainsail.core._errors import ConfigurationError
from mainsail.core._plugins import load_target
from mainsail.core._settings import Settings
from mainsail.store._artifacts import ArtifactStore
from mainsail.store.protocols import LocalStore, Store

if TYPE_CHECKING:
    from mainsail.store._rest_client import RestClient

T = TypeVar("T")
Factory = Callable[["Context"], T]


@dataclass(frozen=True)
class Service(Generic[T]):
    """A domain operation with a local and a remote implementation behind one protocol.

    Parameters
    ----------
    name : str
        What the service does, for messages ("delivery", "monitor runs").
    local : str or callable
        ``factory(ctx) -> T`` used next to the database (embedded, or inside the server), or
        its ``"module:attr"``.
    remote : str or callable
        ``factory(ctx) -> T`` used when the store is a Mainsail server (it calls the server's
        routes through ``ctx.remote``), or its ``"module:attr"``.

    Examples
    --------
    >>> DELIVERY: Service[DeliveryService] = Service(  # doctest: +SKIP
    ...     "delivery",
    ...     local="mainsail.rollout._local:LocalDelivery",
    ...     remote="mainsail.rollout._remote:RemoteDelivery",
    ... )
    >>> ctx.service(DELIVERY).deploy("churn", "models:/churn/2")  # doctest: +SKIP
    """

    name: str
    local: str | Factory[T]
    remote: str | Factory[T]

    def build(self, ctx: Context) -> T:
        target = self.remote if ctx.remote is not None else self.local
        factory: Factory[T] = load_target(target) if isinstance(target, str) else target
        return factory(ctx)


@dataclass(eq=False)
class Context:
    """Settings, the metadata store and the artifact store that domain functions work on.

    Parameters
    ----------
    settings : Settings
        The settings this context was built from.
    store : Store
        The metadata store: :class:`~mainsail.store.SqlStore` next to the database, or
        :class:`~mainsail.store.RestStore` against a Mainsail server.
    artifacts : ArtifactStore
        Where blobs live (a folder, any fsspec URL, or the server).
    remote : RestClient, optional
        The server's client when ``store`` is a REST store; remote services call it.

    Examples
    --------
    >>> from mainsail.store import Context, Database, SqlStore, ArtifactStore
    >>> ctx = Context(Settings(home="/tmp/ms-doc"), SqlStore(Database("sqlite://")),
    ...               ArtifactStore("/tmp/ms-doc/artifacts"))  # doctest: +SKIP
    >>> ctx.is_remote  # doctest: +SKIP
    False
    """

    settings: Settings
    store: Store
    artifacts: ArtifactStore
    remote: RestClient | None = None
    _local: LocalStore | None = field(init=False, repr=False, default=None)
    _services: dict[Service[Any], Any] = field(init=False, repr=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.remote is None and isinstance(self.store, LocalStore):
            self._local = self.store

    @property
    def home(self) -> Path:
        return self.settings.resolved_home()

    @property
    def is_remote(self) -> bool:
        """True when the store is a Mainsail server (``MAINSAIL_TRACKING_URI``)."""
        return self.remote is not None

    def database(self, what: str = "This") -> LocalStore:
        """The store next to the database, for work that only runs there (controllers,
        workers' reaper, local services). ``what`` names that work in the error.
        """
        if self._local is None:
            where = self.settings.tracking_uri or "a remote store"
            raise ConfigurationError(
                f"{what} needs the metadata database, and the store is the server at "
                f"{where}. Run it on a host that reaches the database: unset "
                "MAINSAIL_TRACKING_URI and set MAINSAIL_DATABASE_URL (the server's)."
            )
        return self._local

    def service(self, spec: Service[T]) -> T:
        """The implementation of ``spec`` for this context (built once, then reused)."""
        found = self._services.get(spec)
        if found is None:
            with self._lock:
                found = self._services.get(spec)
                if found is None:
                    found = spec.build(self)
                    self._services[spec] = found
        return found  # type: ignore[no-any-return]

    def close(self) -> None:
        """Release connections (the SQL engine's pool, or the HTTP client)."""
        self.store.close()


def open_context(settings: Settings) -> Context:
    """A new context for ``settings``: the REST store for an http(s) tracking URI, else the
    SQL store on ``database_url`` (default: a SQLite file in the home folder).

    Examples
    --------
    >>> ctx = open_context(Settings(home="/tmp/ms-doc"))  # doctest: +SKIP
    >>> ctx.is_remote  # doctest: +SKIP
    False
    """
    from mainsail.store._crypto import settings_key

    uri = settings.tracking_uri
    if uri and uri.startswith(("http://", "https://")):
        from mainsail.store._rest_store import RestArtifactStore, RestClient, RestStore

        token = settings.token.get_secret_value() if settings.token is not None else None
        client = RestClient(uri, token=token)  # the token is never logged
        return Context(settings, RestStore(client), RestArtifactStore(client), remote=client)
    from mainsail.store._db import Database
    from mainsail.store._sql_store import SqlStore

    db = Database(settings.resolved_database_url(), busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    artifacts = ArtifactStore(
        settings.resolved_artifact_root(),
        settings_key(settings),
        require_encryption=settings.require_encryption,
    )
    return Context(settings, SqlStore(db), artifacts)


__all__ = ["Context", "Service", "open_context"]
