"""Generated demo data: a churn-like tabular classification task with time-dependent drift."""

from __future__ import annotations

import numpy as np
import pandas as pd

PLANS = ["basic", "standard", "premium"]
REGIONS = ["north", "south", "east", "west"]


def make_churn(n: int = 5000, seed: int = 0, drift: float = 0.0) -> pd.DataFrame:
    """A churn table; ``drift`` in [0, 1] shifts usage down, prices up and the plan mix.

    Examples
    --------
    >>> make_churn(10).shape
    (10, 9)
    """
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0, n).round(1)
    monthly = rng.normal(55 + 25 * drift, 18, n).clip(5, None).round(2)
    usage = rng.lognormal(3.0 - 0.6 * drift, 0.5, n).round(2)
    support = rng.poisson(1.0 + 2.0 * drift, n)
    plan_p = np.array([0.5, 0.35, 0.15]) * (1 - drift) + np.array([0.2, 0.3, 0.5]) * drift
    plan = rng.choice(PLANS, n, p=plan_p)
    region = rng.choice(REGIONS, n)
    age = rng.integers(18, 80, n)
    logit = (
        -1.0
        - 0.04 * tenure
        + 0.03 * (monthly - 55)
        - 0.02 * (usage - 20)
        + 0.45 * support
        + np.where(plan == "premium", -0.6, 0.0)
        + 1.2 * drift * (support > 2)  # the relationship itself shifts with drift
    )
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "usage_hours": usage,
            "support_calls": support,
            "plan": plan,
            "region": region,
            "age": age,
            "autopay": rng.random(n) < 0.6,
            "churned": churn.astype(int),
        }
    )
