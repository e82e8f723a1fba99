"""The serving smoke test starts the real inference server and sends sample rows."""

from __future__ import annotations

import numpy as np

import mainsail


def test_smoke_passes_for_a_servable_model(ctx, frames) -> None:  # type: ignore[no-untyped-def]
    train, holdout = frames
    X = train.drop(columns="churned")

    class Rule(mainsail.PythonModel):
        def predict(self, context, model_input):  # type: ignore[no-untyped-def]
            return (model_input["income"] > 50).astype(int).to_numpy()

    mainsail.register_model(Rule(), name="rule", input_example=X.head(), allow_pickle=True)
    r = mainsail.check(
        "rule/1", holdout, policy={"smoke": {"rows": 5, "timeout_s": 90}}, progress=False
    )
    smoke = r.checks[-1]
    assert smoke.name == "smoke" and smoke.status == "pass", smoke.detail
    assert "matching in-process predictions" in smoke.detail and smoke.data["status"] == 200
    assert r.verdict == "blessed"


def test_smoke_catches_a_model_that_loads_but_cannot_predict(ctx, frames) -> None:  # type: ignore[no-untyped-def]
    train, holdout = frames
    X = train.drop(columns="churned")

    class SmallBatchesOnly(mainsail.PythonModel):
        """Passes registration (5 rows) and the server's warm-up (1 row), fails real batches."""

        def predict(self, context, model_input):  # type: ignore[no-untyped-def]
            if len(model_input) > 5:
                raise RuntimeError(f"feature store lookup failed for a batch of {len(model_input)}")
            return np.zeros(len(model_input))

    mainsail.register_model(
        SmallBatchesOnly(), name="flaky", input_example=X.head(), allow_pickle=True
    )
    r = mainsail.check(
        "flaky/1", holdout, policy={"smoke": {"rows": 8, "timeout_s": 90}}, progress=False
    )
    smoke = r.checks[-1]
    assert smoke.status == "fail" and r.verdict == "rejected"
    assert "loaded the model but could not predict 8 sample rows" in smoke.detail
    assert "HTTP 5" in smoke.detail or "HTTP 4" in smoke.detail
