"""A model being served: input checks, its batcher, warm-up, and the slot that hot-swaps it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pandas as pd

from mainsail.registry._registry import LoadedModel
from mainsail.serving._batching import Batcher, BatchResult, _Item
from mainsail.serving._journal import JournalWriter
from mainsail.serving._payloads import InputChecker
from mainsail.serving._predlog import SegmentWriter


class ServedModel:
    """One loaded model version behind an endpoint name, with its own batcher."""

    def __init__(
        self,
        loaded: LoadedModel,
        endpoint: str,
        variant: str = "stable",
        log: JournalWriter | SegmentWriter | None = None,
        max_batch_size: int = 64,
        max_wait_ms: float = 2.0,
        max_queue: int = 2048,
        timeout_s: float = 10.0,
        predict_threads: int = 1,
        batch_budget_ms: float = 5.0,
    ) -> None:
        self.loaded = loaded
        self.endpoint = endpoint
        self.variant = variant
        self.version = str(loaded.version.version)
        self.address = loaded.version.address
        self.checker = InputChecker(loaded.signature)
        self.log = log
        self.ready = False
        self.batcher = Batcher(
            self._predict,
            max_batch_size=max_batch_size,
            max_wait_ms=max_wait_ms,
            max_queue=max_queue,
            timeout_s=timeout_s,
            on_batch=self._on_batch if log is not None else None,
            predict_threads=predict_threads,
            budget_ms=batch_budget_ms,
        )

    @property
    def labels(self) -> tuple[str, str, str]:
        return (self.endpoint, self.version, self.variant)

    @property
    def logs_probability(self) -> bool:
        """Whether logged rows carry the positive-class probability (binary classifiers).

        With it, monitors score ROC-AUC and log-loss from labels that arrive later.
        """
        v = self.loaded.version
        return (
            self.log is not None
            and v.task == "classification"
            and len(v.classes or []) == 2
            and self.loaded.has_proba
        )

    def _predict(
        self, frame: pd.DataFrame, want_proba: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        runtime = self.loaded.runtime
        asked = want_proba and runtime.has_proba
        if asked or self.logs_probability:
            both = getattr(runtime, "predict_both", None)
            try:
                fused = both(frame) if both is not None else None
            except Exception:  # noqa: BLE001 - re-raised when the client asked for it
                if asked:
                    raise
                # Only the log wanted the probability: predict as the unfused path does,
                # and log the rows without one.
                return np.asarray(runtime.predict(frame)), None
            if fused is not None:  # one model call for both (argmax classifiers)
                return np.asarray(fused[0]), np.asarray(fused[1])
        preds = np.asarray(runtime.predict(frame))
        proba = None
        if want_proba and runtime.has_proba:
            proba = np.asarray(runtime.predict_proba(frame))
        elif self.logs_probability:
            try:
                proba = np.asarray(runtime.predict_proba(frame))
            except Exception:  # noqa: BLE001 - only for the log: never costs the prediction
                proba = None
        return preds, proba

    def _on_batch(
        self,
        items: list[_Item],
        frame: pd.DataFrame,
        preds: np.ndarray,
        elapsed: float,
        proba: np.ndarray | None = None,
    ) -> None:
        assert self.log is not None
        extra: dict[str, Any] = {}
        if self.logs_probability and proba is not None and proba.ndim == 2 and proba.shape[1] == 2:
            # Column 1 is the last of the model's classes, the one metrics count as positive.
            extra["probability"] = np.asarray(proba[:, 1], dtype="float64")
        now = time.perf_counter()
        rows = [i.rows for i in items]
        ids = np.repeat(np.array([i.meta.get("request_id", "") for i in items], dtype=object), rows)
        latency = np.repeat(np.array([(now - i.enqueued) * 1000 for i in items]), rows)
        self.log.append(
            frame,
            preds,
            request_id=ids,
            row=np.concatenate([np.arange(r) for r in rows]),
            ts=np.full(len(frame), int(time.time() * 1000), dtype="int64"),
            endpoint=self.endpoint,
            model_name=self.loaded.version.name,
            model_version=self.version,
            variant=self.variant,
            latency_ms=latency,
            **extra,
        )

    def warm(self) -> None:
        """Run one predict on the stored input example; readiness waits for this."""
        example = self.loaded.folder / "input_example.parquet"
        frame = pd.read_parquet(example).head(1) if example.exists() else None
        if frame is not None:
            self._predict(self.loaded.prepare(frame), False)
        self.ready = True

    async def infer(
        self, frame: pd.DataFrame, rows: int, want_proba: bool, request_id: str
    ) -> BatchResult:
        return await self.batcher.submit(frame, rows, want_proba, request_id=request_id)

    async def close(self) -> None:
        await self.batcher.close()
        self.loaded.unload()

    def metadata(self) -> dict[str, Any]:
        from mainsail.serving._payloads import v2_datatype

        cols = self.loaded.signature.inputs.columns
        dtypes = {"int": "INT64", "float": "FP64", "bool": "BOOL"}
        out_dtype = self.loaded.signature.outputs.get("dtype", "float64")
        return {
            "name": self.endpoint,
            "versions": [self.version],
            "platform": f"mainsail-{self.loaded.version.flavor}",
            "inputs": [
                {"name": c.name, "datatype": dtypes.get(c.dtype, "BYTES"), "shape": [-1]}
                for c in cols
            ],
            "outputs": [
                {
                    "name": "predict",
                    "datatype": v2_datatype(np.empty(0, dtype=out_dtype))
                    if out_dtype != "object"
                    else "BYTES",
                    "shape": [-1],
                }
            ]
            + (
                [
                    {
                        "name": "predict_proba",
                        "datatype": "FP64",
                        "shape": [-1, len(self.loaded.classes or [])],
                    }
                ]
                if self.loaded.has_proba
                else []
            ),
        }


class ModelSlot:
    """The model an endpoint currently serves; swapped atomically, the old one drained."""

    def __init__(self, model: ServedModel) -> None:
        self.current = model
        self._swap_lock = asyncio.Lock()
        self.swaps = 0

    async def swap(self, new: ServedModel) -> ServedModel:
        """Put a loaded, warmed model in service; drain and unload the old one."""
        async with self._swap_lock:
            if not new.ready:
                await asyncio.to_thread(new.warm)
            old, self.current = self.current, new
            self.swaps += 1
        await old.close()  # waits for every request it accepted
        return old
