"""Registry: load_model against joblib.load of the same object; registering a ~50 MB model.

    .venv/bin/python bench/registry.py [--quick]

Cold load = first load in a fresh process-cache (files fetched from the artifact store and
verified); warm load = the verified local cache, digests re-checked. Baselines are joblib
on the same objects, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _median_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mainsail-bench-registry-"))
    os.environ["MAINSAIL_HOME"] = str(tmp / "home")
    import joblib
    from rich.console import Console
    from rich.table import Table
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    import mainsail

    console = Console()
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(10_000, 20)), columns=[f"f{i}" for i in range(20)])
    y = (X["f0"] + X["f1"] * X["f2"] > 0).astype(int)
    repeat = 3 if args.quick else 7
    trees = 60 if args.quick else 420  # ~50 MB on disk
    models = {
        "HistGradientBoosting (20 features)": HistGradientBoostingClassifier(
            max_iter=100, random_state=0
        ).fit(X, y),
        f"RandomForest ({trees} trees)": RandomForestClassifier(
            n_estimators=trees, random_state=0, n_jobs=1
        ).fit(X, y),
    }
    rows = []
    results = {}
    for label, model in models.items():
        path = tmp / f"{len(rows)}.joblib"
        t_dump = _median_time(lambda m=model, p=path: joblib.dump(m, p), 1)
        size_mb = path.stat().st_size / 1e6
        t_reg = _median_time(
            lambda m=model: mainsail.register_model(
                m, name="bench", input_example=X.head(), reference=X
            ),
            1,
        )
        version = mainsail.get_model_version("models:/bench@latest")
        t_joblib = _median_time(lambda p=path: joblib.load(p), repeat)
        cache = Path(os.environ["MAINSAIL_HOME"]) / "cache" / "models"

        def cold(v=version, cache=cache) -> None:  # type: ignore[no-untyped-def]
            shutil.rmtree(cache, ignore_errors=True)
            mainsail.load_model(v.address)

        t_cold = _median_time(cold, repeat)
        mainsail.load_model(version.address)
        t_warm = _median_time(lambda v=version: mainsail.load_model(v.address), repeat)
        loaded = mainsail.load_model(version.address)
        assert (loaded.predict(X.head(100)) == model.predict(X.head(100))).all()
        results[label] = {
            "size_mb": size_mb,
            "joblib_dump_s": t_dump,
            "register_s": t_reg,
            "joblib_load_s": t_joblib,
            "load_cold_s": t_cold,
            "load_warm_s": t_warm,
        }
        rows.append(
            (
                label,
                f"{size_mb:.1f}",
                f"{t_joblib * 1000:.1f}",
                f"{t_warm * 1000:.1f} ({t_warm / t_joblib:.2f}x)",
                f"{t_cold * 1000:.1f} ({t_cold / t_joblib:.2f}x)",
                f"{t_reg:.2f} s ({t_reg / t_dump:.1f}x dump)",
            )
        )
    table = Table(title="Registry: load_model vs joblib.load (median); registration vs joblib.dump")
    for col in (
        "model",
        "MB",
        "joblib.load ms",
        "load_model warm ms",
        "load_model cold ms",
        "register",
    ):
        table.add_column(col, justify="right" if col != "model" else "left")
    for r in rows:
        table.add_row(*r)
    console.print(table)
    console.print(
        "Ratios are against joblib in the same run. load_model verifies every file's SHA-256 and "
        "deserialises with skops (no pickle); registration also profiles the reference frame, "
        "loads the saved files back and predicts once."
    )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "registry.json").write_text(json.dumps(results, indent=2))
    console.print(f"wrote {out / 'registry.json'}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
