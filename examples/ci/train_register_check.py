"""Train, register and check a churn model: what the release-checks workflow runs.

    python examples/ci/train_register_check.py --out check-report [--promote]

1. trains a scikit-learn pipeline on synthetic churn data (or ``--data file.csv``),
2. registers it as the next version of ``churn`` and logs the holdout as a dataset,
3. runs ``mainsail.check`` against ``@champion`` with ``checks.yaml`` and writes
   report.html / report.json / report.md to ``--out``,
4. with ``--promote``, moves ``@champion`` (gated by ``require_checks``) when blessed.

The exit code is 0 when the new version is blessed and 1 when it is rejected, so the CI
job fails on a rejected model. On an empty registry the first version becomes the
champion without a comparison (there is nothing to compare with yet).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mainsail
from mainsail.data._datasets import read_table

HERE = Path(__file__).parent


def synthetic(n: int, seed: int) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": r.integers(18, 80, n),
            "income": r.normal(50, 15, n),
            "plan": r.choice(["basic", "pro", "team"], n),
        }
    )
    logit = 0.1 * (df.income - 50) - 0.04 * (df.age - 45) + (df.plan == "pro") * 0.8
    df["churned"] = (r.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


def train(df: pd.DataFrame, c: float) -> object:
    numeric = make_pipeline(SimpleImputer(), StandardScaler())
    features = ColumnTransformer(
        [
            ("num", numeric, ["age", "income"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    model = make_pipeline(features, LogisticRegression(C=c, max_iter=1000))
    return model.fit(df.drop(columns="churned"), df["churned"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--data", help="CSV/Parquet with age, income, plan, churned (default: synthetic)"
    )
    p.add_argument("--policy", default=str(HERE / "checks.yaml"))
    p.add_argument("--out", default="check-report")
    p.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    p.add_argument("--promote", action="store_true", help="move @champion when blessed")
    args = p.parse_args(argv)

    df = read_table(args.data) if args.data else synthetic(6000, seed=7)
    rng = np.random.default_rng(0)
    holdout_mask = rng.random(len(df)) < 0.3
    train_df, holdout = df[~holdout_mask], df[holdout_mask].reset_index(drop=True)

    with mainsail.start_run(experiment="churn", params={"C": args.C}) as run:
        model = train(train_df, args.C)
        X = train_df.drop(columns="churned")
        mv = mainsail.register_model(
            model, name="churn", run=run, input_example=X.head(), reference=X
        )
    dv = mainsail.log_dataset(holdout, name="churn-holdout")
    print(f"registered {mv.address}; holdout {dv.address}")

    try:
        champion = mainsail.get_model_version("models:/churn@champion")
    except mainsail.MainsailError:
        champion = None
    result = mainsail.check(
        mv.address,
        dv.address,
        baseline="@champion" if champion is not None else None,
        policy=args.policy,
        out_dir=args.out,
    )
    print(result.markdown())
    if result.blessed and (args.promote or champion is None):
        mainsail.set_alias("churn", "champion", mv.version, require_checks=True)
        print(f"@champion -> {mv.address}")
    return 0 if result.blessed else 1


if __name__ == "__main__":
    sys.exit(main())
