"""Export a registered model to ONNX, with a parity check against the native model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
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
class QuantizationReport:
    """How the quantised export compares with the native model and the float export."""

    kind: str
    rows: int
    agreement: float | None  # share of equal labels (classifiers)
    max_abs_error: float  # largest |probability| (classifiers) or |prediction| difference
    size_bytes: int
    float_size_bytes: int
    latency_ms: float  # one batch of ``rows`` rows, best of 5
    float_latency_ms: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ExportResult:
    source: str
    version: ModelVersion
    max_abs_diff: float
    max_abs_diff_proba: float | None
    rows_checked: int
    quantization: QuantizationReport | None = None


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


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.asarray(a).reshape(-1) == np.asarray(b).reshape(-1)))


def _latency_ms(session: Any, feed: dict[str, np.ndarray], repeats: int = 5) -> float:
    """Best of ``repeats`` runs over the parity sample, in ms (one batch)."""
    import time

    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        session.run(None, feed)
        best = min(best, (time.perf_counter() - t0) * 1000)
    return best


_QUANTIZABLE = {"MatMul", "Gemm", "Conv", "Attention", "LSTM", "GRU", "EmbedLayerNormalization"}


def _quantize_int8(onnx_model: Any, address: str) -> Any:
    """Dynamic int8 quantisation of the weights (``onnxruntime.quantization``)."""
    import tempfile

    ops = {node.op_type for node in onnx_model.graph.node}
    if not ops & _QUANTIZABLE:
        raise InvalidValueError(
            f"int8 dynamic quantisation stores the weights of {', '.join(sorted(_QUANTIZABLE))} "
            f"nodes in 8 bits; the ONNX graph of {address} has none (its operators: "
            f"{', '.join(sorted(ops))}), so there is nothing to quantise. Export it without "
            "--quantize: tree ensembles and linear models convert to compact ai.onnx.ml "
            "operators, which have no such weights."
        )
    onnx = import_optional("onnx", extra="onnx")
    quantization = import_optional("onnxruntime.quantization", extra="onnx")
    with tempfile.TemporaryDirectory(prefix="mainsail-quant-") as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(onnx_model.SerializeToString())
        quantization.quantize_dynamic(str(src), str(dst), weight_type=quantization.QuantType.QInt8)
        return onnx.load(str(dst))


def _register_export(
    ctx: Context,
    source: ModelVersion,
    source_folder: Path,
    onnx_model: Any,
    description: str,
    tags: dict[str, str],
    card: dict[str, Any],
) -> ModelVersion:
    """Register ``onnx_model`` as the next version of the source's model, with the source's
    signature, reference profile (what monitors compare with), input example, lineage (run,
    datasets, commit) and metrics: the export is the same model in another format."""
    import platform
    import shutil
    import tempfile

    import orjson

    from mainsail.registry._registry import FORMAT_VERSION, MANIFEST, _requirements
    from mainsail.registry._versions import _actor
    from mainsail.runtimes import check_flavor_meta, get_runtime_class

    runtime_cls = get_runtime_class("onnx")
    with tempfile.TemporaryDirectory(prefix="mainsail-onnx-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        meta = runtime_cls.save(onnx_model, folder, False)
        check_flavor_meta("onnx", meta)
        shutil.copyfile(source_folder / "input_example.parquet", folder / "input_example.parquet")
        manifest = {
            "format_version": FORMAT_VERSION,
            "name": source.name,
            "flavor": "onnx",
            "flavor_meta": meta,
            "signature": source.signature,
            "task": source.task,
            "classes": source.classes,
            "requirements": _requirements(runtime_cls.requires),
            "python_version": platform.python_version(),
            "allow_pickle": False,
            "lineage": {
                "run_id": source.run_id,
                "datasets": source.datasets,
                "git_commit": source.git_commit,
                "exported_from": source.address,
            },
        }
        (folder / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        digest, size = ctx.artifacts.put_dir(folder)
    files = {path: entry["digest"] for path, entry in ctx.artifacts.read_manifest(digest).items()}
    return ctx.store.create_model_version(
        source.name,
        flavor="onnx",
        manifest_digest=digest,
        files=files,
        size_bytes=size,
        signature=source.signature,
        task=source.task,
        classes=source.classes,
        metrics=dict(source.metrics),
        run_id=source.run_id,
        datasets=list(source.datasets),
        git_commit=source.git_commit,
        description=description,
        tags=tags,
        card={**source.card, **card},
        reference_profile=source.reference_profile,
        allow_pickle=False,
        created_by=_actor(),
    )


def export_onnx(
    ctx: Context,
    address: str,
    tolerance: float = 1e-4,
    quantize: str | None = None,
    min_agreement: float = 0.99,
) -> ExportResult:
    """Convert a version to ONNX, check parity, and register it as the next version.

    The new version keeps the source's signature, reference profile, input example, lineage
    and metrics. Parity is checked on the stored input example plus rows drawn within the
    signature's ranges: :class:`ParityError` (and nothing registered) when a prediction or
    probability differs by more than ``tolerance``. ``quantize="int8"`` registers the
    dynamically int8-quantised model instead (for edge targets) with a parity report
    (label agreement, max error, size, latency against the float export); a classifier must
    keep ``min_agreement`` of the labels, a regressor stay within ``tolerance``.
    """
    from mainsail.registry._registry import load_model

    if quantize not in (None, "int8"):
        raise InvalidValueError(
            f"Unknown quantisation {quantize!r}. Valid: int8 (dynamic, onnxruntime), or none."
        )
    if not 0 <= min_agreement <= 1:
        raise InvalidValueError(f"min_agreement must be in [0, 1]. Got {min_agreement!r}.")
    if tolerance < 0:
        raise InvalidValueError(
            f"tolerance must be >= 0 (the largest accepted difference). Got {tolerance!r}."
        )
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
    classes = loaded.version.classes
    if classes is not None:
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = "mainsail.classes", json.dumps(classes)
    sample = _sample(loaded)
    feed_x = sample[names].to_numpy(np.float32)
    native = np.asarray(loaded.runtime.predict(sample)).reshape(-1)
    native_proba = loaded.runtime.predict_proba(sample) if loaded.has_proba else None
    labels = loaded.version.task == "classification" and classes is not None

    def compare(model: Any) -> tuple[Any, float, float | None, float]:
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        feed = {session.get_inputs()[0].name: feed_x}
        outputs = session.run(None, feed)
        pred = np.asarray(outputs[0]).reshape(-1)
        if labels:
            diff = 1.0 - _agreement(pred, native)  # the share of rows whose label differs
        else:
            diff = float(np.max(np.abs(pred - native.astype(float))))
        diff_proba = None
        if native_proba is not None and len(outputs) > 1:
            proba = np.asarray(outputs[1], dtype=float)
            diff_proba = float(np.max(np.abs(proba - native_proba)))
        return session, diff, diff_proba, _latency_ms(session, feed)

    _, diff, diff_proba, float_ms = compare(onnx_model)
    worst = max(diff, diff_proba or 0.0)
    if worst > tolerance:
        raise ParityError(
            f"The ONNX export of {address} differs from the native model on {len(sample)} rows: "
            f"max |prediction diff| = {diff:.3g}"
            + (f", max |probability diff| = {diff_proba:.3g}" if diff_proba is not None else "")
            + f", above the tolerance {tolerance:g}. Nothing was registered. Raise --tolerance "
            "if that difference is acceptable (float32 rounding is typical), or keep the native flavor."
        )
    tags = {
        "exported_from": address,
        "onnx_max_abs_diff": f"{diff:.3g}",
        "onnx_max_abs_diff_proba": "" if diff_proba is None else f"{diff_proba:.3g}",
    }
    report: QuantizationReport | None = None
    registered = onnx_model
    if quantize == "int8":
        quantized = _quantize_int8(onnx_model, address)
        _, qdiff, qdiff_proba, int8_ms = compare(quantized)
        agreement = 1.0 - qdiff if labels else None
        max_error = max(qdiff_proba or 0.0, 0.0 if labels else qdiff)
        report = QuantizationReport(
            kind="int8",
            rows=len(sample),
            agreement=agreement,
            max_abs_error=max_error,
            size_bytes=len(quantized.SerializeToString()),
            float_size_bytes=len(onnx_model.SerializeToString()),
            latency_ms=int8_ms,
            float_latency_ms=float_ms,
        )
        if agreement is not None and agreement < min_agreement:
            raise ParityError(
                f"The int8 export of {address} agrees with the native model on "
                f"{agreement:.1%} of {len(sample)} labels, below min_agreement "
                f"{min_agreement:.1%} (max |probability diff| {max_error:.3g}). Nothing was "
                "registered. Export without quantisation, or lower --min-agreement if that is "
                "acceptable for the edge target."
            )
        if agreement is None and max_error > tolerance:
            raise ParityError(
                f"The int8 export of {address} differs from the native model by up to "
                f"{max_error:.3g} on {len(sample)} rows, above the tolerance {tolerance:g}. "
                "Nothing was registered. Raise --tolerance if that error is acceptable for the "
                "edge target, or export without quantisation."
            )
        registered = quantized
        tags.update({"quantization": "int8", "onnx_int8_max_abs_error": f"{max_error:.3g}"})
        if agreement is not None:
            tags["onnx_int8_agreement"] = f"{agreement:.4f}"
    card = {"onnx_parity": {"rows": len(sample), "max_abs_diff": diff,
                            "max_abs_diff_proba": diff_proba}}  # fmt: skip
    if report is not None:
        card["onnx_quantization"] = report.as_dict()
    version = _register_export(
        ctx,
        loaded.version,
        loaded.folder,
        registered,
        f"ONNX export of {address}" + (" (int8 dynamic quantisation)" if report else ""),
        tags,
        card,
    )
    return ExportResult(address, version, diff, diff_proba, len(sample), report)
