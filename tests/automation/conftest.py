"""A world with a deployed champion: churn v1 trained by a pipeline, checked and served."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

FLOWS = textwrap.dedent(
    '''
    """Test pipelines: a fast model, a deliberately bad one, and one that fails."""
    import numpy as np
    import pandas as pd

    import mainsail

    LABEL = "churned"
    NUMERIC = ["tenure_months", "monthly_charges", "usage_hours", "support_calls", "age"]


    @mainsail.step(outputs=["train", "holdout"])
    def load(dataset: str, rows: int, seed: int):
        frame = mainsail.load_dataset(f"datasets:/{dataset}@latest").tail(rows)
        holdout = frame.sample(frac=0.3, random_state=seed)
        return frame.drop(index=holdout.index), holdout


    @mainsail.step
    def fit(train: pd.DataFrame, shuffle_labels: bool, seed: int):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y = train[LABEL].to_numpy()
        if shuffle_labels:  # a model that learned nothing
            y = np.random.default_rng(seed).permutation(y)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        return model.fit(train[NUMERIC], y)


    @mainsail.step
    def features(train: pd.DataFrame) -> pd.DataFrame:
        return train[NUMERIC]


    @mainsail.step
    def explode(train: pd.DataFrame) -> pd.DataFrame:
        raise RuntimeError("the training cluster is on fire")


    @mainsail.pipeline
    def retrain(dataset: str = "churn-live", rows: int = 1500, seed: int = 0,
                shuffle_labels: bool = False):
        train, holdout = load(dataset, rows, seed)
        return {"model": fit(train, shuffle_labels, seed), "reference": features(train),
                "holdout": holdout}


    @mainsail.pipeline
    def broken(dataset: str = "churn-live"):
        train, holdout = load(dataset, 100, 0)
        return {"model": explode(train)}
    '''
)

POLICY: dict[str, Any] = {
    "label": "churned",
    "metrics": {"roc_auc": {"min": 0.65}},
    "baseline": {"metric": "roc_auc", "margin": -0.02, "n_boot": 200},
}


@pytest.fixture(scope="session")
def _world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the world once: flows module, data, v1 blessed, @champion, endpoint churn."""
    import mainsail
    from mainsail.demo._data import make_churn

    root = tmp_path_factory.mktemp("automation-world")
    (root / "flows").mkdir()
    (root / "flows" / "auto_flows.py").write_text(FLOWS)
    sys.path.insert(0, str(root / "flows"))
    try:
        mainsail.configure(home=str(root / "home"))
        mainsail.log_dataset(make_churn(2500, seed=1), name="churn-live")
        run = mainsail.run_pipeline("auto_flows:retrain", progress=False)
        v1 = mainsail.register_model(
            run.outputs["model"], name="churn", run=run.run_id, reference=run.outputs["reference"]
        )
        result = mainsail.check(v1.address, run.outputs["holdout"], policy=POLICY, progress=False)
        assert result.blessed, result.to_dict()
        mainsail.set_alias("churn", "champion", v1.version, require_checks=True)
        mainsail.deploy("churn", v1.address)
    finally:
        mainsail.reset()
        sys.path.remove(str(root / "flows"))
    return root


@pytest.fixture
def world(_world_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A private copy of the world for one test, configured as the SDK's context."""
    import mainsail

    shutil.copytree(_world_template / "home", tmp_path / "home", dirs_exist_ok=True)
    monkeypatch.syspath_prepend(str(_world_template / "flows"))
    return mainsail.configure(home=str(tmp_path / "home"))
