"""Right-sizing from stored capacity curves: the arithmetic, and ``mainsail build k8s`` using it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import mainsail
from mainsail.core import InvalidValueError
from mainsail.core._capacity import CapacityCurve, CapacityPoint, Prices, with_curve
from mainsail.packaging import recommend


def _p(c: int, rps: float, p99: float, cpu: list[float], mem: list[float]) -> CapacityPoint:
    return CapacityPoint(
        concurrency=c, duration_s=10, requests=int(rps * 10), errors=0, error_rate=0.0,
        rps=rps, rows_per_s=rps, p50_ms=p99 / 4, p99_ms=p99, cpu_percent=cpu, memory_mb=mem,
    )  # fmt: skip


ONE = CapacityCurve(
    target="models:/churn/1", model="churn", version=1, workers=1,
    points=[
        _p(1, 300, 5, [90], [300]), _p(8, 600, 20, [100], [320]), _p(32, 650, 90, [100], [330]),
    ],
)  # fmt: skip
TWO = CapacityCurve(
    target="models:/churn/1", model="churn", version=1, workers=2,
    points=[_p(1, 320, 6, [45, 40], [290, 280]), _p(8, 1100, 18, [95, 95], [300, 300])],
)  # fmt: skip


def test_the_recommendation_arithmetic() -> None:
    rec = recommend([ONE, TWO], traffic_rps=1000, p99_ms=25)
    # 1 worker: c=8 is the fastest step within 25 ms: 600/s on 1.0 core; RSS at most 330 MB
    assert (rec.workers, rec.capacity_rps, rec.point.concurrency) == (1, 600, 8)
    assert rec.cpu_request == "1000m" and rec.cpu_request_vcpu == 1.0
    assert rec.memory_request == "448Mi"  # 330 MB + 25 % = 412.5, rounded up to 64 MiB
    assert rec.hpa_cpu_target == 70
    # a replica runs at 0.7 x 600 = 420/s: 1000/s needs ceil(2.38) = 3; room to double: 5
    assert (rec.replicas, rec.min_replicas, rec.max_replicas) == (3, 3, 5)
    hourly = 3 * (1.0 * 0.0445 + 448 / 1024 * 0.0049)
    assert rec.cost_per_hour == pytest.approx(hourly)
    assert rec.cost_per_1k == pytest.approx(hourly / (1000 * 3600) * 1000)
    # 2 workers: 1100/s on 1.9 cores, 768Mi, 2 replicas: dearer per hour than 3 small ones
    two = next(o for o in rec.options if o.workers == 2)
    assert two.replicas == 2
    assert two.cost_per_hour == pytest.approx(2 * (1.9 * 0.0445 + 0.75 * 0.0049))
    assert "3 replica(s) of 1 worker(s) (HPA 3-5 at 70% CPU" in rec.summary()
    # a price per replica favours fewer, bigger replicas
    dear = recommend([ONE, TWO], 1000, 25, Prices(replica_hour=0.05))
    assert (dear.workers, dear.min_replicas) == (2, 2)
    # low traffic: the availability floor of two replicas holds
    small = recommend([ONE], 10, 25, target_utilization=0.5)
    assert (small.replicas, small.min_replicas, small.max_replicas, small.hpa_cpu_target) == (
        1,
        2,
        3,
        50,
    )


def test_sizing_says_why_it_cannot() -> None:
    with pytest.raises(InvalidValueError, match=r"meets a p99 of 4 ms \(1 worker\(s\): no step"):
        recommend([ONE], 100, 4)
    with pytest.raises(InvalidValueError, match="traffic to size for must be positive"):
        recommend([ONE], 0, 25)
    with pytest.raises(InvalidValueError, match="HPA target utilisation must be between"):
        recommend([ONE], 100, 25, target_utilization=1.5)
    with pytest.raises(InvalidValueError, match="No capacity curve is stored on the given"):
        recommend([], 100, 25)


@pytest.fixture
def churn(ctx: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    model = LogisticRegression().fit(X, (X["a"] > 0).astype(int))
    return mainsail.register_model(model, name="churn", input_example=X.head())


def test_build_k8s_sizes_from_the_stored_curve(churn: Any, cli: Any, tmp_path: Path) -> None:
    code, _, err = cli("build", "k8s", "churn/1", "--traffic", "1000", "--p99-ms", "25")
    assert code == 1 and "No capacity curve is stored on models:/churn/1" in " ".join(err.split())
    ctx = mainsail.get_context()
    card = with_curve(with_curve(churn.card, ONE), TWO)
    ctx.store.update_model_version("churn", 1, card=card)
    code, out, _ = cli("build", "k8s", "churn/1", "--out", str(tmp_path / "plain"))
    assert code == 0 and "add --traffic RPS --p99-ms MS" in " ".join(out.split())
    code, out, err = cli(
        "build", "k8s", "churn/1", "--out", str(tmp_path / "k"), "--traffic", "1000",
        "--p99-ms", "25", "--max", "9",
    )  # fmt: skip
    assert code == 0, err
    assert "Sized from the stored capacity curve: 3 replica(s) of 1 worker(s)" in " ".join(
        out.split()
    )
    deploy, _, hpa, pdb = yaml.safe_load_all((tmp_path / "k" / "manifests.yaml").read_text())
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert deploy["spec"]["replicas"] == 3
    assert container["resources"]["requests"] == {"cpu": "1000m", "memory": "448Mi"}
    assert {"name": "MAINSAIL_WORKERS", "value": "1"} in container["env"]
    spec = hpa["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 9)  # an option given still wins
    assert spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert pdb["spec"]["minAvailable"] == 2
    code, _, err = cli("build", "k8s", "churn/1", "--traffic", "1000")
    assert code == 1 and "needs both --traffic" in " ".join(err.split())
    # the SDK: the same recommendation, at the context's prices
    rec = mainsail.recommend_sizing("models:/churn/1", 1000, 25)
    assert (rec.workers, rec.min_replicas, rec.cpu_request) == (1, 3, "1000m")
