"""Persistence: metadata (SQLAlchemy: SQLite | PostgreSQL, or a Mainsail server over REST),
content-addressed artifacts, and the :class:`Context` domain functions work on."""

from mainsail.store._artifacts import ArtifactStore, sha256_bytes, sha256_file
from mainsail.store._context import Context, Service, open_context
from mainsail.store._db import Database
from mainsail.store._sql_store import SqlStore, check_metric
from mainsail.store._tables import SCHEMA_REVISION
from mainsail.store.protocols import LocalStore, Store

__all__ = [
    "SCHEMA_REVISION",
    "ArtifactStore",
    "Context",
    "Database",
    "LocalStore",
    "Service",
    "SqlStore",
    "Store",
    "check_metric",
    "open_context",
    "sha256_bytes",
    "sha256_file",
]
