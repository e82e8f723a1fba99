"""Server-side failures reach the monitor's error rate through the live sketches."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

import mainsail
from mainsail.runtimes import PythonModel


class Picky(PythonModel):
    """Fails on negative inputs, like a model meeting data it was never built for."""

    def predict(self, context: object, X: pd.DataFrame) -> np.ndarray:
        if (X["a"] < 0).any():
            raise ValueError("negative input")
        return (X["a"] > 1).astype(int).to_numpy()


def test_5xx_answers_count_as_errors_in_the_monitor(ctx) -> None:  # type: ignore[no-untyped-def]
    from mainsail.monitoring import load_sketches
    from mainsail.serving import ServeSettings, create_app

    X = pd.DataFrame({"a": np.linspace(0, 2, 50)})
    mainsail.register_model(Picky(), name="picky", input_example=X, reference=X, allow_pickle=True)
    app = create_app(ctx, ServeSettings(model="models:/picky/1", log_flush_interval=0.2))
    with TestClient(app) as client:
        codes = []
        for i in range(20):
            value = -1.0 if i % 4 == 0 else 0.5
            r = client.post("/invocations", json={"dataframe_records": [{"a": value}]})
            codes.append(r.status_code)
        bad = client.post("/invocations", json={"dataframe_records": [{"b": 1}]})
        assert bad.status_code in (400, 422)  # the client's mistake: not a server error
        plane = client.app.state.plane  # type: ignore[attr-defined]
        plane.predictions.flush()
        plane.sketches.flush()
    assert sum(c >= 500 for c in codes) == 5 and codes.count(200) == 15
    windows = load_sketches(ctx.settings.resolved_artifact_root(), "picky", 0, 2**62)
    assert sum(w.errors for w in windows.values()) == 5
    result = mainsail.create_monitor("picky", checks=["operational"], window="1h")
    assert result is not None
    run = mainsail.run_monitor("picky")
    assert run.scores["operational.error_rate"] > 0.2
