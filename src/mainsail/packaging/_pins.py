"""What a build context installs: the running Mainsail's wheel and every requirement pinned.

A context must install on a machine that has never seen this one: ``mainsail`` itself is
not on an index, so its wheel goes into the context (``wheels/``), and every other package
is pinned. The model's own requirements keep the versions recorded when it was saved (the
manifest); everything else the served model needs (Mainsail's dependencies, the serving
extras, and theirs) is pinned to the versions installed here, the ones that saved it and
passed its checks. Packages are named by their distribution (``xgboost-cpu``), not by the
module they provide (``xgboost``).
"""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
import zipfile
from pathlib import Path

from mainsail.core._errors import InvalidValueError
from mainsail.core._version import VERSION


def distribution_of(module: str) -> str | None:
    """The installed distribution that provides ``module`` (``xgboost`` -> ``xgboost-cpu``)."""
    try:
        md.distribution(module)
        return module
    except md.PackageNotFoundError:
        pass
    names = md.packages_distributions().get(module.replace("-", "_"), [])
    return names[0] if names else None


def pin_closure(roots: list[tuple[str, set[str]]]) -> dict[str, str]:
    """``{distribution: version}`` of ``roots`` (name, extras) and everything they require
    here (environment markers evaluated for this interpreter and platform)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: dict[str, tuple[str, str, set[str]]] = {}  # key -> (name, version, extras)
    todo = list(roots)
    while todo:
        name, extras = todo.pop()
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # optional on this platform, or a marker-less leftover: not installable here
        key = canonicalize_name(dist.metadata["Name"])
        prev = seen.get(key)
        if prev is not None and extras <= prev[2]:
            continue
        seen[key] = (dist.metadata["Name"], dist.version, (prev[2] if prev else set()) | extras)
        for text in dist.requires or []:
            req = Requirement(text)
            envs = [{"extra": e} for e in (extras or {""})]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, set(req.extras)))
    return {name: version for name, version, _ in seen.values()}


def wheel_requires(wheel: Path, extras: set[str]) -> list[tuple[str, set[str]]]:
    """What ``wheel`` requires with ``extras`` on this interpreter: (name, extras) pairs."""
    from email.parser import Parser

    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        headers = Parser().parsestr(zf.read(meta).decode())
    out = []
    envs = [{"extra": e} for e in (extras or {""})] + [{"extra": ""}]
    for text in headers.get_all("Requires-Dist") or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate(env) for env in envs):
            out.append((req.name, set(req.extras)))
    return out


def pinned_requirements(
    manifest_requirements: list[str], mainsail_requires: list[tuple[str, set[str]]]
) -> list[str]:
    """``name==version`` lines: the model's requirements as saved, then what the Mainsail
    wheel requires and the closure of both, as installed here. Mainsail itself comes from
    the wheel in the context, so its line is left out."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    saved: dict[str, str] = {}
    roots: list[tuple[str, set[str]]] = list(mainsail_requires)
    unresolved = []
    for text in manifest_requirements:
        req = Requirement(text)
        dist = distribution_of(req.name)
        name = dist or req.name
        pin = next((s.version for s in req.specifier if s.operator == "=="), None)
        if pin is None and dist is not None:
            pin = md.version(dist)
        if pin is None:
            unresolved.append(req.name)
            continue
        saved[canonicalize_name(name)] = f"{name}=={pin}"
        roots.append((name, set(req.extras)))
    if unresolved:
        raise InvalidValueError(
            f"The model needs {', '.join(unresolved)}, which is not installed here, so no "
            "version can be pinned for the build context. Install the version the model was "
            "saved with (pip install ...), then build again."
        )
    lines = dict(saved)
    for name, version in pin_closure(roots).items():
        key = canonicalize_name(name)
        if key != "mainsail" and key not in lines:
            lines[key] = f"{name}=={version}"
    return [lines[k] for k in sorted(lines)]


def _source_root() -> Path | None:
    """The source tree of the running Mainsail, when it runs from one (editable or checkout)."""
    import mainsail.core._version as version_module

    root = Path(version_module.__file__).resolve().parents[3]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "mainsail"' in pyproject.read_text():
        return root
    return None


_built: dict[tuple[str, float], Path] = {}  # (source root, newest mtime) -> wheel, per process


def _fingerprint(root: Path) -> float:
    files = [root / "pyproject.toml", *(root / "src" / "mainsail").rglob("*")]
    return max(f.stat().st_mtime for f in files if f.is_file() and f.suffix != ".pyc")


def mainsail_wheel(dest: Path) -> Path:
    """The running Mainsail as a wheel in ``dest``: built from its source tree (``pip wheel
    --no-deps``, once per process while the tree is unchanged), or repacked from the
    installed distribution."""
    import shutil
    import tempfile

    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("mainsail-*.whl"):
        old.unlink()
    root = _source_root()
    if root is not None:
        key = (str(root), _fingerprint(root))
        cached = _built.get(key)
        if cached is not None and cached.is_file():
            return Path(shutil.copy2(cached, dest / cached.name))
        build_dir = Path(tempfile.mkdtemp(prefix="mainsail-wheel-"))
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
             str(build_dir), str(root)],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        wheels = sorted(build_dir.glob("mainsail-*.whl"))
        if proc.returncode != 0 or not wheels:
            raise InvalidValueError(
                f"Could not build the Mainsail wheel from {root} (pip wheel exited "
                f"{proc.returncode}): {proc.stderr.strip()[-800:]}. The build context needs it; "
                "check that pip can fetch the build backend (hatchling), or install Mainsail "
                "from a wheel and build again."
            )
        _built[key] = wheels[-1]
        return Path(shutil.copy2(wheels[-1], dest / wheels[-1].name))
    return _repack_installed(dest)


def _repack_installed(dest: Path) -> Path:
    """A wheel of the installed (non-editable) Mainsail: its files and dist-info, RECORD anew."""
    import base64
    import hashlib

    dist = md.distribution("mainsail")
    skip = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json", ".pyc")
    files = [
        f for f in dist.files or [] if not str(f).startswith("..") and not str(f).endswith(skip)
    ]
    if not any(str(f).startswith("mainsail/") for f in files):
        raise InvalidValueError(
            "The running Mainsail is neither a source checkout nor an installed wheel, so "
            "its wheel cannot be put in the build context. Build one with 'pip wheel "
            "--no-deps <mainsail source>' and install that."
        )
    path = dest / f"mainsail-{VERSION}-py3-none-any.whl"
    record_name = f"mainsail-{VERSION}.dist-info/RECORD"
    rows = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            data = Path(str(f.locate())).read_bytes()
            zf.writestr(str(f), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            rows.append(f"{f},sha256={digest.decode()},{len(data)}")
        rows.append(f"{record_name},,")
        zf.writestr(record_name, "\n".join(rows) + "\n")
    return path
