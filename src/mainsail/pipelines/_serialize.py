"""How step outputs become artifacts, and back: the safest format that fits each value.

| value | format | notes |
|---|---|---|
| pandas DataFrame | ``parquet`` | index dropped unless it is named |
| numpy array (not object dtype) | ``npy`` | loaded with ``allow_pickle=False`` |
| scikit-learn estimator | ``skops`` | loaded trusting only the types found when it was saved |
| JSON data (dict with str keys, list, str, int, float, bool, None) | ``json`` | |
| other plain Python data (tuples, sets, bytes, non-str keys, ...) | ``pickle`` | only builtin types inside; checked on load |
| anything else | ``pickle`` | only with ``@step(allow_pickle=True)``: loading runs code |

Artifacts are content-addressed and verified on read, so a pickle loaded here is one this
store wrote; still, a pickle of arbitrary objects runs code when loaded, which is why it
needs an explicit opt-in.
"""

from __future__ import annotations

import io
import math
import pickle
from typing import TYPE_CHECKING, Any

import orjson

from mainsail.core._errors import CorruptedArtifactError, StepOutputError

if TYPE_CHECKING:
    from mainsail.store._artifacts import ArtifactStore

_PLAIN = (str, int, float, bool, bytes, bytearray, complex, type(None))
_CONTAINERS = (list, tuple, set, frozenset, dict)
FORMATS = ("parquet", "npy", "skops", "json", "pickle")


def _is_plain(value: Any, depth: int = 0) -> bool:
    if depth > 50:
        return False
    if isinstance(value, _PLAIN):
        return type(value) in _PLAIN
    if type(value) in _CONTAINERS:
        items = value.items() if isinstance(value, dict) else ((v, None) for v in value)
        return all(_is_plain(k, depth + 1) and _is_plain(v, depth + 1) for k, v in items)
    return False


def _is_json(value: Any, depth: int = 0) -> bool:
    if depth > 50:
        return False
    if value is None or type(value) in (str, int, bool):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is list:
        return all(_is_json(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _is_json(v, depth + 1) for k, v in value.items())
    return False


def is_json_param(value: Any) -> bool:
    """Whether a step argument is a parameter (JSON data) rather than an input artifact."""
    return _is_json(value)


def dumps(value: Any, allow_pickle: bool = False) -> tuple[bytes, dict[str, Any]]:
    """Serialise one output; returns (bytes, meta) where meta names the format."""
    meta: dict[str, Any] = {"type": f"{type(value).__module__}.{type(value).__qualname__}"}
    mod = type(value).__module__.split(".")[0]
    if mod == "pandas":
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            buf = io.BytesIO()
            value.to_parquet(buf, index=value.index.name is not None)
            return buf.getvalue(), {**meta, "format": "parquet"}
    if mod == "numpy":
        import numpy as np

        if isinstance(value, np.ndarray) and value.dtype != object:
            buf = io.BytesIO()
            np.save(buf, value, allow_pickle=False)
            return buf.getvalue(), {**meta, "format": "npy"}
    if mod == "sklearn" or _is_sklearn(value):
        import skops.io as sio

        data = sio.dumps(value)
        trusted = sorted(sio.get_untrusted_types(data=data))
        return data, {**meta, "format": "skops", "trusted_types": trusted}
    if _is_json(value):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS), {**meta, "format": "json"}
    if _is_plain(value):
        return pickle.dumps(value, protocol=5), {**meta, "format": "pickle", "plain": True}
    if allow_pickle:
        return pickle.dumps(value, protocol=5), {**meta, "format": "pickle", "plain": False}
    raise StepOutputError(
        f"Expected a step output Mainsail can store safely: a pandas DataFrame, a numpy "
        f"array, a scikit-learn estimator or plain Python data. Got {meta['type']}. "
        "Return one of those, or declare @mainsail.step(allow_pickle=True) to store it "
        "with pickle (loading a pickle runs code; only do it for objects you trust)."
    )


def _is_sklearn(value: Any) -> bool:
    try:
        from sklearn.base import BaseEstimator
    except ImportError:  # pragma: no cover - sklearn is a core dependency
        return False
    mod = type(value).__module__
    return isinstance(value, BaseEstimator) and not mod.startswith(("xgboost", "lightgbm"))


def loads(data: bytes, meta: dict[str, Any]) -> Any:
    fmt = meta.get("format")
    if fmt == "parquet":
        import pandas as pd

        return pd.read_parquet(io.BytesIO(data))
    if fmt == "npy":
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)
    if fmt == "skops":
        import skops.io as sio

        return sio.loads(data, trusted=list(meta.get("trusted_types", [])))
    if fmt == "json":
        return orjson.loads(data)
    if fmt == "pickle":
        if meta.get("plain"):
            return _PlainUnpickler(io.BytesIO(data)).load()
        return pickle.loads(data)  # noqa: S301 - opted in with allow_pickle; digest-verified
    raise CorruptedArtifactError(
        f"Expected a step output format among {', '.join(FORMATS)}; the record says {fmt!r}. "
        "Rerun the step with --no-cache."
    )


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles builtin data only: any other class or callable is refused."""

    _ALLOWED = frozenset({"set", "frozenset", "complex", "bytearray"})

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in self._ALLOWED:
            return super().find_class(module, name)
        raise CorruptedArtifactError(
            f"Expected plain Python data in this pickled step output; it refers to "
            f"{module}.{name}. Refusing to load it. Rerun the step with --no-cache."
        )


def store_value(artifacts: ArtifactStore, value: Any, allow_pickle: bool = False) -> dict[str, Any]:
    """Write one value; returns its meta with ``digest`` and ``size``."""
    data, meta = dumps(value, allow_pickle)
    digest = artifacts.put_bytes(data)
    return {"digest": digest, "size": len(data), **meta}


def load_value(artifacts: ArtifactStore, meta: dict[str, Any]) -> Any:
    return loads(artifacts.get_bytes(meta["digest"]), meta)


def param_digest(value: Any) -> str:
    """A stable digest of a JSON parameter (keys sorted)."""
    import hashlib

    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()
