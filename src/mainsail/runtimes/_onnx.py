"""ONNX flavor: stored as is, served with onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mainsail.core._optional import import_optional

_NP = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(string)": object,
    "tensor(bool)": np.bool_,
}


class OnnxRuntime:
    flavor: ClassVar[str] = "onnx"
    requires: ClassVar[tuple[str, ...]] = ("onnxruntime",)
    FILE = "model.onnx"

    def __init__(self) -> None:
        self.session: Any = None
        self.classes: list[Any] | None = None

    @classmethod
    def supports(cls, model: Any) -> bool:
        return type(model).__name__ == "ModelProto" and type(model).__module__.startswith("onnx")

    @classmethod
    def save(cls, model: Any, folder: Path, allow_pickle: bool) -> dict[str, Any]:
        (folder / cls.FILE).write_bytes(model.SerializeToString())
        import json

        outputs = [o.name for o in model.graph.output]
        task = "classification" if len(outputs) >= 2 else "regression"
        props = {p.key: p.value for p in model.metadata_props}
        classes = json.loads(props["mainsail.classes"]) if "mainsail.classes" in props else None
        return {"file": cls.FILE, "task": task, "classes": classes, "outputs": outputs}

    def load(self, folder: Path, meta: dict[str, Any]) -> None:
        ort = import_optional("onnxruntime", extra="onnx")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(folder / meta["file"]), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self.classes = meta.get("classes")

    def _feed(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        inputs = self.session.get_inputs()
        if len(inputs) == 1:
            dtype = _NP.get(inputs[0].type, np.float32)
            return {inputs[0].name: X.to_numpy(dtype=dtype)}
        feed = {}
        for inp in inputs:
            dtype = _NP.get(inp.type, np.float32)
            feed[inp.name] = X[inp.name].to_numpy(dtype=dtype).reshape(-1, 1)
        return feed

    def _run(self, X: pd.DataFrame) -> list[Any]:
        out: list[Any] = self.session.run(None, self._feed(X))
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        first = np.asarray(self._run(X)[0])
        return first.reshape(-1) if first.ndim == 2 and first.shape[1] == 1 else first

    @property
    def has_proba(self) -> bool:
        return len(self.session.get_outputs()) >= 2

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        proba = self._run(X)[1]
        if isinstance(proba, list) and proba and isinstance(proba[0], dict):
            keys = sorted(proba[0])
            return np.array([[row[k] for k in keys] for row in proba], dtype="float64")
        return np.asarray(proba)

    def unload(self) -> None:
        self.session = None

    def metadata(self) -> dict[str, Any]:
        return {"inputs": [i.name for i in self.session.get_inputs()]} if self.session else {}
