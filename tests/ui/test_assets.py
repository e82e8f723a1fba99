"""The committed UI bundle matches its sources (``make ui`` rebuilds it)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mainsail.ui import STATIC_DIR

SOURCES = Path(__file__).resolve().parents[2] / "ui"


def source_files() -> list[str]:
    """The same list as ``sourceFiles()`` in ui/build.mjs."""
    files = ["build.mjs", "index.html", "package.json", "package-lock.json"]
    files += [
        p.relative_to(SOURCES).as_posix() for p in (SOURCES / "src").rglob("*") if p.is_file()
    ]
    return sorted(files)


def sources_hash() -> str:
    h = hashlib.sha256()
    for f in source_files():
        h.update(f.encode() + b"\0")
        h.update((SOURCES / f).read_text(encoding="utf-8").replace("\r\n", "\n").encode() + b"\0")
    return h.hexdigest()


def test_the_built_assets_are_not_older_than_the_sources() -> None:
    built = json.loads((STATIC_DIR / "build.json").read_text())
    assert built["files"] == source_files(), "ui/ gained or lost a source file: run 'make ui'"
    assert built["sources_sha256"] == sources_hash(), (
        "src/mainsail/ui/static was built from other sources than ui/: run 'make ui' and "
        "commit the result."
    )


def test_the_index_names_assets_that_ship() -> None:
    index = (STATIC_DIR / "index.html").read_text()
    names = [part.split('"')[0] for part in index.split("/ui-assets/")[1:]]
    assert names and all((STATIC_DIR / "assets" / n).is_file() for n in names)
    assert "%APP_JS%" not in index and "http" not in index  # nothing fetched from elsewhere
