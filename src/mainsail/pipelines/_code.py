"""The code part of a step's cache key: its source and the local modules it depends on.

A step's fingerprint holds
- its own source, and the source of functions and classes of the same module that it
  refers to by name (recursively), so editing another step in the same file does not
  invalidate it;
- the whole source file of every *local* module it uses (imported as a module, or
  a function or class imported from one), and recursively the local modules those use.

"Local" means a module whose file is outside the standard library and site-packages and
is not Mainsail itself: the project's own code. Third-party packages are pinned by the
run's environment, not by the cache key.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
import sysconfig
import types
from functools import lru_cache
from typing import Any

_SKIP_PREFIXES = ("mainsail",)


@lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    roots = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(os.path.realpath(path))
    for path in sys.path:
        if path.endswith(("site-packages", "dist-packages")):
            roots.add(os.path.realpath(path))
    roots.add(os.path.realpath(sys.prefix))
    roots.add(os.path.realpath(sys.base_prefix))
    return tuple(sorted(roots))


def module_file(module: types.ModuleType) -> str | None:
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return None
    return os.path.realpath(path)


def is_local(module: types.ModuleType | None) -> bool:
    if module is None or module.__name__.split(".")[0] in _SKIP_PREFIXES:
        return False
    path = module_file(module)
    if path is None:
        return False
    return not any(path.startswith(root + os.sep) for root in _library_roots())


def _sha(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: str) -> str:
    with open(path, "rb") as f:
        return _sha(f.read())


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        return repr(code.co_code) if code is not None else repr(obj)


_CONSTANTS = (int, float, str, bytes, bool, tuple, list, dict)  # not sets: their repr order varies


def _small(value: Any) -> bool:
    try:
        return len(repr(value)) <= 100_000
    except Exception:  # noqa: BLE001 - an odd repr: leave it out
        return False


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _module_of(value: Any) -> types.ModuleType | None:
    if isinstance(value, types.ModuleType):
        return value
    name = getattr(value, "__module__", None)
    return sys.modules.get(name) if isinstance(name, str) else None


def _local_imports(module: types.ModuleType) -> set[types.ModuleType]:
    """Local modules that ``module`` uses, through its globals."""
    found = set()
    for value in list(vars(module).values()):
        mod = _module_of(value)
        if mod is not None and mod is not module and is_local(mod):
            found.add(mod)
    return found


def code_components(fn: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(component -> sha256, component -> file) for a step function.

    Components are ``"<module>.<qualname>"`` for the function and the same-module
    objects it refers to, and ``"<module>"`` for each whole local module file.
    """
    fn = inspect.unwrap(fn)
    home = sys.modules.get(fn.__module__)
    hashes: dict[str, str] = {}
    files: dict[str, str] = {}
    home_file = module_file(home) if home is not None else None

    seen_objs: set[int] = set()
    modules: set[types.ModuleType] = set()

    def visit_obj(obj: Any, qualname: str) -> None:
        if id(obj) in seen_objs:
            return
        seen_objs.add(id(obj))
        key = f"{fn.__module__}.{qualname}"
        hashes[key] = _sha(_source(obj))
        if home_file:
            files[key] = home_file
        code = getattr(inspect.unwrap(obj), "__code__", None) if callable(obj) else None
        if code is None or home is None:
            return
        for name in sorted(_names(code)):
            value = vars(home).get(name)
            if value is None:
                continue
            target = getattr(value, "fn", value)  # a Step wraps its function
            mod = _module_of(target)
            if mod is home and (inspect.isfunction(target) or inspect.isclass(target)):
                visit_obj(target, getattr(target, "__qualname__", name))
            elif isinstance(value, _CONSTANTS) and _small(value):
                # a module-level constant the step reads (THRESHOLD = 0.5) is code too
                key = f"{fn.__module__}.{name}"
                hashes[key] = _sha(repr(value))
                if home_file:
                    files[key] = home_file
            elif mod is not None and mod is not home and is_local(mod):
                modules.add(mod)

    visit_obj(fn, fn.__qualname__)

    todo = list(modules)
    seen_mods: set[str] = set()
    while todo:
        mod = todo.pop()
        if mod.__name__ in seen_mods:
            continue
        seen_mods.add(mod.__name__)
        path = module_file(mod)
        if path is None:
            continue
        hashes[mod.__name__] = _file_sha(path)
        files[mod.__name__] = path
        todo.extend(_local_imports(mod))
    return dict(sorted(hashes.items())), files
