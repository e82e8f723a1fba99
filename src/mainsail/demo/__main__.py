"""``make demo``: a short walkthrough of tracking and dataset versions on generated data."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> int:
    from rich.console import Console
    from rich.progress import Progress

    os.environ.setdefault("MAINSAIL_HOME", str(Path.cwd() / "demo-out" / ".mainsail"))
    import mainsail
    from mainsail.cli._output import table
    from mainsail.demo._data import make_churn

    console = Console()
    console.rule("[bold]Mainsail demo: tracking and datasets")
    console.print(f"home: {os.environ['MAINSAIL_HOME']}")

    train = make_churn(6000, seed=1)
    dv = mainsail.log_dataset(train, name="churn-train", description="generated churn data")
    console.print(f"Logged [bold]{dv.address}[/] ({dv.row_count} rows, digest {dv.digest[:12]})")

    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    X = train.drop(columns="churned")
    X = X.assign(plan=X["plan"].astype("category"), region=X["region"].astype("category"))
    y = train["churned"]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    grid = [{"max_depth": d, "learning_rate": lr} for d in (3, 6) for lr in (0.05, 0.2)]
    fitted: dict[str, object] = {}
    mainsail.seed_everything(42)
    with Progress(console=console) as progress:
        task = progress.add_task("Training", total=len(grid))
        for params in grid:
            with mainsail.start_run(experiment="churn-demo", params=params) as run:
                run.log_input(dv)
                model = HistGradientBoostingClassifier(
                    categorical_features="from_dtype", random_state=0, max_iter=60, **params
                )
                model.fit(X_tr, y_tr)
                for i, proba in enumerate(model.staged_predict_proba(X_te)):
                    if i % 10 == 9:
                        run.log_metric("val_auc", roc_auc_score(y_te, proba[:, 1]), step=i + 1)
                run.log_metric("auc", roc_auc_score(y_te, model.predict_proba(X_te)[:, 1]))
            fitted[run.id] = model
            progress.advance(task)

    best = mainsail.search_runs(
        "churn-demo", filter="metrics.auc > 0.5", order_by=["metrics.auc DESC"], max_results=3
    )
    table(
        "Best runs",
        ["run", "max_depth", "learning_rate", "auc"],
        best[["run_id", "params.max_depth", "params.learning_rate", "metrics.auc"]]
        .assign(run_id=lambda d: d["run_id"].str[:12])
        .values.tolist(),
    )

    best_id = best["run_id"].iloc[0]
    mv = mainsail.register_model(
        fitted[best_id],
        name="churn",
        run=best_id,
        input_example=X_tr.head(),
        reference=X_tr,
        card={"intended_use": "Rank customers by churn risk for retention offers (demo data)."},
    )
    mainsail.set_alias("churn", "champion", mv.version)
    console.print(
        f"Registered [bold]{mv.address}[/] ({mv.flavor}, {len(mv.files)} files) as @champion"
    )
    champion = mainsail.load_model("models:/churn@champion")
    out_dir = Path(os.environ["MAINSAIL_HOME"]).parent
    from mainsail.registry import render_html

    (out_dir / "model-card.html").write_text(render_html(champion.version))

    live = make_churn(2000, seed=7, drift=1.0)
    live.loc[live.index[:25], "plan"] = "enterprise"  # a category training never saw
    report = mainsail.validate(live, dv)
    console.print(
        f"Validated a drifted live batch against {dv.address}: "
        f"{len(report.violations)} violation(s)"
    )
    console.print(report.summary())
    live_X = live.drop(columns="churned").assign(
        plan=lambda d: d["plan"].where(d["plan"] != "enterprise", "premium").astype("category"),
        region=lambda d: d["region"].astype("category"),
    )
    drift = mainsail.drift(X_tr, live_X)
    console.print(drift.summary())
    scores = champion.predict_proba(live_X)[:, 1]
    console.print(
        f"Champion scored {len(live_X)} live rows; mean churn risk {scores.mean():.2f} "
        f"(training: {champion.predict_proba(X_te)[:, 1].mean():.2f})."
    )
    console.print(f"Model card: {out_dir / 'model-card.html'}")
    console.rule("Try: .venv/bin/mainsail runs list -e churn-demo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
