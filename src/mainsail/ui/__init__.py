"""The web UI: a single-page app over the server's ``/api/v1``, shipped inside the package.

``mount_ui(app)`` adds the UI to a server app: the built assets under ``/ui-assets`` and the
index page at ``/`` and at every page's URL (``/runs/<id>``, ``/models/<name>``, ...), so a
URL pasted into a chat opens the same page. ``run_ui(ctx)`` runs the server app over an
embedded context without login for ``mainsail ui``.

The sources live in ``ui/`` at the repository root; ``make ui`` bundles them into
``mainsail/ui/static`` (committed, so installing Mainsail needs no Node).
"""

from mainsail.ui._mount import PAGES, STATIC_DIR, mount_ui
from mainsail.ui._runner import run_ui

__all__ = ["PAGES", "STATIC_DIR", "mount_ui", "run_ui"]
