"""Serve the built UI from a FastAPI app: assets, and the index page at every page's URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from mainsail.core._errors import ConfigurationError

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PREFIX = "/ui-assets"

# The top-level sections of the UI's client-side routes. Only these paths serve the index
# page: everything else (the API, health, the data plane mounted at "/") is left alone.
PAGES = (
    "experiments",
    "runs",
    "compare",
    "datasets",
    "models",
    "endpoints",
    "monitoring",
    "alerts",
    "automations",
    "pipelines",
    "jobs",
    "admin",
    "login",
)


def _index_html() -> str:
    index = STATIC_DIR / "index.html"
    if not index.is_file():
        raise ConfigurationError(
            f"The web UI is not built: {index} is missing. Run 'make ui' in the repository "
            "(needs Node 20 and npm), or reinstall Mainsail."
        )
    return index.read_text(encoding="utf-8")


def build_info() -> dict[str, Any]:
    """What ``make ui`` recorded: the hash of the sources the assets were built from."""
    path = STATIC_DIR / "build.json"
    return json.loads(path.read_text()) if path.is_file() else {}  # type: ignore[no-any-return]


def mount_ui(app: FastAPI) -> None:
    """Add the UI to ``app``: call it after the API routes and before a mount at ``/``."""
    st = getattr(app.state, "mainsail", None)
    auth = "on" if st is None or st.auth else "off"
    html = _index_html().replace("%AUTH%", auth)
    # The index is tiny and names hashed asset files; it is never cached so a new build shows.
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

    async def index() -> HTMLResponse:
        return HTMLResponse(html, headers=headers)

    app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    for page in PAGES:
        app.add_api_route(f"/{page}", index, methods=["GET"], include_in_schema=False)
        app.add_api_route(f"/{page}/{{rest:path}}", index, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_PREFIX, _Assets(directory=STATIC_DIR / "assets"), name="ui-assets")


class _Assets(StaticFiles):
    """Static files whose names carry a content hash: cached for a year."""

    async def get_response(self, path: str, scope: Any) -> Any:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
