from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import mainsail


@pytest.fixture
def autologged(ctx):  # type: ignore[no-untyped-def]
    mainsail.autolog(experiment="auto")
    yield
    mainsail.autolog(disable=True)


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = (X["a"] + X["b"] > 0).astype(int).to_numpy()
    return X, y


def test_fit_outside_a_run_gets_its_own_run(autologged, ctx) -> None:  # type: ignore[no-untyped-def]
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    X, y = _data()
    model = LogisticRegression(C=0.5).fit(X, y)
    (run,) = mainsail.find_runs("auto")
    assert run.status == "finished"
    assert run.params["C"] == "0.5"
    assert run.metrics["training_accuracy"] == pytest.approx(model.score(X, y))
    assert run.tags["estimator_class"].endswith("LogisticRegression")
    (artifact,) = run.artifacts
    blob = ctx.artifacts.get_bytes(artifact.digest)
    loaded = sio.load(io.BytesIO(blob), trusted=sio.get_untrusted_types(data=blob))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_pipeline_logs_once_inside_an_active_run(autologged, ctx) -> None:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _data()
    with mainsail.start_run(experiment="mine") as run:
        make_pipeline(StandardScaler(), Ridge()).fit(X, y.astype(float))
    stored = mainsail.get_run(run.id)
    assert "training_r2" in stored.metrics
    assert stored.tags["estimator_class"].endswith("Pipeline")
    # No separate runs for the inner steps: only the run we started exists.
    assert [(e.name, e.run_count) for e in ctx.store.list_experiments()] == [("mine", 1)]


def test_disable_restores_fit(ctx) -> None:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LinearRegression

    original = LinearRegression.fit
    mainsail.autolog()
    assert LinearRegression.fit is not original
    mainsail.autolog(disable=True)
    assert LinearRegression.fit is original
