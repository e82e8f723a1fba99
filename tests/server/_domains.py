"""Seed data for the delivery, monitoring, checks, automation and job routes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from mainsail.client._context import Context
from mainsail.core._ids import now_ms
from mainsail.store import _tables as t

POLICY = {"label": "y", "metrics": {"accuracy": {"min": 0.6}}}


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    df["y"] = (df["a"] + 0.5 * df["b"] > 0).astype(int)
    return df


def register_models(ctx: Context, name: str = "clf") -> None:
    """Two sklearn versions of ``name`` and the holdout ``datasets:/<name>-holdout/1``."""
    from sklearn.linear_model import LogisticRegression

    from mainsail.data import log_dataset
    from mainsail.registry import register_model

    train, holdout = frame(300, 1), frame(200, 2)
    X, y = train[["a", "b", "c"]], train["y"]
    register_model(ctx, LogisticRegression().fit(X, y), name=name, input_example=X.head())
    register_model(
        ctx,
        LogisticRegression().fit(X[["a"]].assign(b=0.0, c=0.0), y),
        name=name,
        input_example=X.head(),
    )
    log_dataset(ctx, holdout, name=f"{name}-holdout")


def add_alert(ctx: Context, endpoint: str, rule: str = "drift") -> int:
    now = now_ms()
    with ctx.store.db.write() as conn:
        return int(
            conn.execute(
                t.alerts.insert().values(
                    fingerprint=f"{rule}-{endpoint}",
                    rule=rule,
                    endpoint=endpoint,
                    severity="warning",
                    state="firing",
                    value=0.9,
                    evidence={"drift.share": 0.9},
                    first_seen_at=now,
                    fired_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )


def automation_spec(name: str, endpoint: str = "ep") -> dict[str, Any]:
    return {
        "name": name,
        "endpoint": endpoint,
        "model": "clf",
        "pipeline": "flows:retrain",
        "triggers": [{"type": "schedule", "cron": "0 3 * * 1"}],
        "cooldown": "6h",
    }


def seed_domains(ctx: Context) -> dict[str, Any]:
    """Models clf/1-2, endpoints ep (direct), ep-canary (canary), ep-ab (A/B), a monitor,
    an automation and a firing alert."""
    from mainsail.automation import create_automation
    from mainsail.monitoring import create_monitor
    from mainsail.rollout import deploy

    register_models(ctx)
    deploy(ctx, "ep", "models:/clf/1")
    for ep, strategy, spec in (
        ("ep-canary", "canary", {"steps": [50], "interval": 3600}),
        ("ep-ab", "ab", {"weights": [50, 50]}),
    ):
        deploy(ctx, ep, "models:/clf/1")
        deploy(ctx, ep, "models:/clf/2", strategy=strategy, spec=spec)
    create_automation(ctx, automation_spec("auto"))
    create_monitor(ctx, "ep")
    with ctx.store.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.monitors)).scalar() == 1
    return {"alert": add_alert(ctx, "ep")}
