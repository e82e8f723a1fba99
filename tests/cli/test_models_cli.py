from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mainsail


@pytest.fixture
def registered(ctx):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": np.arange(40.0), "b": np.sin(np.arange(40.0))})
    m = LogisticRegression().fit(X, (X["a"] > 20).astype(int))
    mainsail.register_model(m, name="churn", input_example=X.head(), card={"intended_use": "demo"})
    mainsail.register_model(m, name="churn", input_example=X.head())


def test_models_commands(registered, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("models", "list", "--json")
    assert code == 0 and json.loads(out)[0]["latest_version"] == 2
    code, out, _ = cli("models", "alias", "churn", "champion", "1")
    assert code == 0 and "version 1" in out
    code, out, _ = cli("models", "alias", "churn", "champion", "--history", "--json")
    assert json.loads(out)[0]["to_version"] == 1
    code, out, _ = cli("models", "versions", "churn")
    assert code == 0 and "champion" in out
    code, out, _ = cli("models", "show", "churn@champion")
    assert code == 0 and "model.skops" in out and "Signature" in out
    code, out, _ = cli("models", "archive", "churn", "2")
    assert code == 0 and "archived" in out
    code, _, err = cli("models", "alias", "churn", "champion", "2")
    assert code == 1 and "archived" in err and "Traceback" not in err
    card = tmp_path / "card.html"
    code, out, _ = cli("models", "card", "churn/1", "--html", str(card))
    assert code == 0 and "demo" in card.read_text()
    code, _, err = cli("models", "show", "ghost/1")
    assert code == 1 and "Unknown model" in err
