"""Virtualenvs for the peer tools the benches compare Mainsail against.

Each peer lives in its own venv under the git-ignored ``.bench-venvs/<name>`` so that its
dependencies never touch Mainsail's ``.venv``. :func:`ensure_venv` creates the venv on first
use and is a no-op afterwards, so a fresh machine can run any bench directly::

    .venv/bin/python bench/tracking.py        # creates .bench-venvs/mlflow if missing
    .venv/bin/python bench/_venvs.py mlflow   # or create it ahead of time

Only the standard library is used here, so the helper runs under any interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_ROOT = REPO / ".bench-venvs"
STAMP = ".bench-requirements"  # records what was installed, so a changed spec reinstalls


@dataclass(frozen=True)
class Peer:
    """A peer tool: the pip requirements to install and a module proving they work."""

    requirements: tuple[str, ...]
    module: str


# Peers known to the benches. Pin a version here (e.g. "mlflow==3.6.0") to freeze a baseline;
# unpinned, a fresh venv gets the newest release and the bench records which one it used.
PEERS: dict[str, Peer] = {
    "mlflow": Peer(requirements=("mlflow",), module="mlflow"),
    # evidently 0.7 imports a pandas internal that pandas 3 removed.
    "evidently": Peer(requirements=("evidently", "pandas<3"), module="evidently"),
}


def venv_python(name: str) -> Path:
    return VENV_ROOT / name / "bin" / "python"


def _say(msg: str) -> None:
    print(f"[bench venvs] {msg}", file=sys.stderr, flush=True)


def _imports(python: Path, module: str) -> bool:
    proc = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True)
    return proc.returncode == 0


def ensure_venv(name: str, peer: Peer | None = None) -> Path:
    """Return the python of venv ``name``, creating it and installing ``peer`` if needed.

    Idempotent: an existing venv whose stamp matches the requirements and which can import
    the peer's module is used as it is. Raises ``RuntimeError`` if the install fails.
    """
    peer = peer or PEERS[name]
    root = VENV_ROOT / name
    python = venv_python(name)
    stamp = root / STAMP
    wanted = "\n".join(peer.requirements) + "\n"

    if not python.exists():
        _say(f"creating venv {root} ...")
        root.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    elif stamp.exists() and stamp.read_text() == wanted and _imports(python, peer.module):
        _say(f"using existing venv {root}")
        return python

    _say(f"installing {' '.join(peer.requirements)} into {root} (this can take a few minutes)")
    cmd = [str(python), "-m", "pip", "install", "--quiet", *peer.requirements]
    if subprocess.run(cmd).returncode != 0:
        raise RuntimeError(f"'{' '.join(cmd)}' failed; see pip's output above.")
    if not _imports(python, peer.module):
        raise RuntimeError(f"{python} still cannot 'import {peer.module}' after installing.")
    stamp.write_text(wanted)
    _say(f"venv {root} is ready")
    return python


def installed_version(name: str, distribution: str) -> str:
    """The version of ``distribution`` installed in venv ``name``."""
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    out = subprocess.run([str(venv_python(name)), "-c", code], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(PEERS)
    for n in names:
        if n not in PEERS:
            sys.exit(f"Unknown peer {n!r}; known peers: {', '.join(sorted(PEERS))}.")
        print(f"{n}: {ensure_venv(n)}")
