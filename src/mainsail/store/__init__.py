"""Persistence: metadata (SQLAlchemy: SQLite | PostgreSQL) and content-addressed artifacts."""

from mainsail.store._artifacts import ArtifactStore, sha256_bytes, sha256_file
from mainsail.store._db import Database
from mainsail.store._protocol import Store
from mainsail.store._sql_store import SqlStore, check_metric
from mainsail.store._tables import SCHEMA_REVISION

__all__ = [
    "SCHEMA_REVISION",
    "ArtifactStore",
    "Database",
    "SqlStore",
    "Store",
    "check_metric",
    "sha256_bytes",
    "sha256_file",
]
