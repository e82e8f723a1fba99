"""Export a registered model to ONNX, with a parity check against the native model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mainsail.core._errors import InvalidValueError, MainsailError
from mainsail.core._optional import import_optional
from mainsail.core._registry_schemas import ModelVersion

if TYPE_CHECKING:
    from mainsail.store._context import Context


class ParityError(MainsailError):
    headline = "ONNX parity check failed"
    status = 422


@dataclass
class ExportResult:
    source: str
    version: ModelVersion
    max_abs_diff: float
    max_abs_diff_proba: float | None
    rows_checked: int


def _sample(loaded: Any, n: int = 256, seed: int = 0) -> pd.DataFrame:
    """The stored input example plus rows drawn uniformly within the signature's ranges."""
    example = pd.read_parquet(loaded.folder / "input_example.parquet")
    rng = np.random.default_rng(seed)
    cols = {}
    for c in loaded.signature.inputs.columns:
        lo = c.min if c.min is not None else -1.0
        hi = c.max if c.max is not None else 1.0
        values = rng.uniform(lo, hi, n)
        cols[c.name] = np.round(values) if c.dtype == "int" else values
    return pd.concat([loaded.prepare(example), pd.DataFrame(cols)], ignore_index=True)


def _convert(loaded: Any, names: list[str]) -> Any:
    flavor = loaded.version.flavor
    model: Any = getattr(loaded.runtime, "model", None)
    n = len(names)
    if flavor == "sklearn":
        skl2onnx = import_optional("skl2onnx", extra="onnx")
        from skl2onnx.common.data_types import FloatTensorType

        options = {id(model): {"zipmap": False}} if hasattr(model, "predict_proba") else None
        try:
            return skl2onnx.convert_sklearn(
                model,
                initial_types=[("input", FloatTensorType([None, n]))],
                options=options,
                target_opset={"": 17, "ai.onnx.ml": 3},
            )
        except Exception as exc:  # noqa: BLE001 - converter errors are varied
            raise InvalidValueError(
                f"skl2onnx cannot convert {type(model).__name__}: {exc}. Keep the native flavor, "
                "or register an ONNX model you converted yourself."
            ) from exc
    if flavor in ("xgboost", "lightgbm"):
        onnxmltools = import_optional("onnxmltools", extra="onnx")
        from onnxmltools.convert.common.data_types import FloatTensorType as MLFloat

        types = [("input", MLFloat([None, n]))]
        if flavor == "xgboost":
            import copy

            renamed = copy.deepcopy(model)  # the converter wants features named f0..fn
            renamed.get_booster().feature_names = [f"f{i}" for i in range(n)]
            return onnxmltools.convert_xgboost(renamed, initial_types=types, target_opset=15)
        booster = loaded.runtime.booster
        return onnxmltools.convert_lightgbm(
            booster, initial_types=types, target_opset=15, zipmap=False
        )
    raise InvalidValueError(
        f"Export to ONNX supports sklearn, xgboost and lightgbm versions; {loaded.version.address} "
        f"is {flavor}."
    )


def export_onnx(ctx: Context, address: str, tolerance: float = 1e-4) -> ExportResult:
    """Convert a version to ONNX, check parity, and register it as the next version.

    Raises :class:`ParityError` when predictions differ by more than ``tolerance``.
    """
    from mainsail.registry._registry import load_model, register_model

    ort = import_optional("onnxruntime", extra="onnx")
    loaded = load_model(ctx, address)
    if not all(c.is_numeric for c in loaded.signature.inputs.columns):
        bad = [c.name for c in loaded.signature.inputs.columns if not c.is_numeric]
        raise InvalidValueError(
            f"ONNX export handles numeric inputs only; {address} also takes {', '.join(bad)}. "
            "Encode those columns inside a Pipeline first, or serve the native flavor."
        )
    names = loaded.signature.input_names
    onnx_model = _convert(loaded, names)
    sample = _sample(loaded)
    session = ort.InferenceSession(
        onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    outputs = session.run(None, {session.get_inputs()[0].name: sample[names].to_numpy(np.float32)})
    native = loaded.runtime.predict(sample)
    onnx_pred: np.ndarray = np.asarray(outputs[0]).reshape(-1)
    classes = loaded.version.classes
    if loaded.version.task == "classification" and classes is not None:
        # Labels: the share of rows whose label differs.
        diff = float(np.mean(onnx_pred != np.asarray(native).reshape(-1)))
    else:
        diff = float(np.max(np.abs(onnx_pred - np.asarray(native, dtype=float).reshape(-1))))
    diff_proba = None
    if loaded.has_proba and len(outputs) > 1:
        proba = np.asarray(outputs[1], dtype=float)
        diff_proba = float(np.max(np.abs(proba - loaded.runtime.predict_proba(sample))))
    worst = max(diff, diff_proba or 0.0)
    if worst > tolerance:
        raise ParityError(
            f"The ONNX export of {address} differs from the native model on {len(sample)} rows: "
            f"max |prediction diff| = {diff:.3g}"
            + (f", max |probability diff| = {diff_proba:.3g}" if diff_proba is not None else "")
            + f", above the tolerance {tolerance:g}. Nothing was registered. Raise --tolerance "
            "if that difference is acceptable (float32 rounding is typical), or keep the native flavor."
        )
    if classes is not None:
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = "mainsail.classes", json.dumps(classes)
    version = register_model(
        ctx,
        onnx_model,
        name=loaded.version.name,
        input_example=sample.head(5).astype(np.float32),
        reference=sample.astype(np.float32),
        description=f"ONNX export of {address}",
        tags={
            "exported_from": address,
            "onnx_max_abs_diff": f"{diff:.3g}",
            "onnx_max_abs_diff_proba": "" if diff_proba is None else f"{diff_proba:.3g}",
        },
        flavor="onnx",
    )
    return ExportResult(address, version, diff, diff_proba, len(sample))
