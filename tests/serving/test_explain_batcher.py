"""The explain batcher: one call for concurrent requests, each gets its rows; cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mainsail.explanations import explain, model_view
from mainsail.serving import _explain
from mainsail.serving._explain import ExplainBatcher


@pytest.fixture(scope="module")
def fitted() -> tuple[Any, pd.DataFrame]:
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    return DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, X["a"] * 2 + X["b"]), X


def _batcher(model: Any, wait: float) -> ExplainBatcher:
    b = ExplainBatcher(model=None, method="auto", max_wait_s=wait)  # type: ignore[arg-type]
    b._view = model_view(None, model)
    return b


def test_concurrent_requests_share_one_call_and_get_their_rows(fitted, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    model, X = fitted
    calls: list[int] = []
    real = _explain.explain_view

    def counted(view: Any, frame: pd.DataFrame, *args: Any) -> Any:
        calls.append(len(frame))
        return real(view, frame, *args)

    monkeypatch.setattr(_explain, "explain_view", counted)

    async def scenario() -> list[Any]:
        b = _batcher(model, 0.05)
        parts = [X.iloc[0:1], X.iloc[1:4], X.iloc[4:6]]
        return await asyncio.gather(*(b.submit(p) for p in parts))

    got = asyncio.run(scenario())
    assert calls == [6]  # one explain call for the three requests
    expected = explain(None, model, X.head(6)).values
    assert [len(e) for e in got] == [1, 3, 2]
    assert np.allclose(np.concatenate([e.values for e in got]), expected)


def test_a_cancelled_request_does_not_strand_the_others(fitted) -> None:  # type: ignore[no-untyped-def]
    model, X = fitted

    async def scenario() -> Any:
        b = _batcher(model, 0.05)
        first = asyncio.create_task(b.submit(X.iloc[[0]]))
        second = asyncio.create_task(b.submit(X.iloc[[1]]))
        await asyncio.sleep(0.01)
        first.cancel()  # the client that came first went away while the batch waited
        return await asyncio.wait_for(second, timeout=10)

    e = asyncio.run(scenario())
    assert len(e) == 1 and np.allclose(e.values, explain(None, model, X.iloc[[1]]).values)
