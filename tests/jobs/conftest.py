from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def jctx(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A context on SQLite and on PostgreSQL (the same tests run on both)."""
    import mainsail

    return mainsail.configure(home=str(tmp_path / "home"), database_url=db_url)
