"""MLflow model folders registered as Mainsail model versions.

An MLflow model is a folder with an ``MLmodel`` file naming its flavors. Registering one
converts it to the matching Mainsail flavor when that is safe, i.e. when the MLflow file
can be read without unpickling:

- ``sklearn`` saved with skops (MLflow 3's default) -> Mainsail's ``sklearn`` flavor, the
  skops types trusted only within scikit-learn, NumPy and SciPy;
- ``xgboost`` (native ``.xgb``/``.json``/``.ubj``) -> ``xgboost``;
- ``lightgbm`` Booster (native text) -> ``lightgbm``.

Anything else (a pickled scikit-learn model, a custom pyfunc) is refused unless the caller
opts in with ``allow_pickle``: it is then kept whole as a ``pyfunc`` version that calls
``mlflow.pyfunc.load_model`` on the MLflow folder (MLflow must be installed where it is
loaded). The version's tags state which path was taken (``mainsail.mlflow.conversion``).
An input example logged with the model (``input_example=``) is required: it gives the
signature and is predicted on before anything is recorded.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mainsail.core._errors import InvalidValueError, UnsupportedModelError
from mainsail.core._registry_schemas import ModelVersion
from mainsail.runtimes._pyfunc import PythonModel, PythonModelContext

if TYPE_CHECKING:
    from mainsail.store._context import Context

SAFE_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.")
CONVERSION_TAG = "mainsail.mlflow.conversion"


class MlflowPyfuncModel(PythonModel):
    """An MLflow model kept as it is, loaded with ``mlflow.pyfunc`` (needs ``mlflow``)."""

    def load_context(self, context: PythonModelContext) -> None:
        try:
            import mlflow.pyfunc
        except ImportError as exc:
            raise UnsupportedModelError(
                "This version is an MLflow model kept as pyfunc: loading it needs the mlflow "
                "package. Install it (pip install mlflow) where the model is loaded."
            ) from exc
        self.model = mlflow.pyfunc.load_model(context.artifacts["mlflow_model"])

    def predict(self, context: PythonModelContext, model_input: pd.DataFrame) -> Any:
        return self.model.predict(model_input)


def _mlmodel(folder: Path) -> dict[str, Any]:
    import yaml

    path = folder / "MLmodel"
    if not path.is_file():
        raise InvalidValueError(
            f"Expected an MLflow model folder with an MLmodel file; found {sorted(p.name for p in folder.iterdir())}. "
            "Register the folder that mlflow.<flavor>.log_model wrote."
        )
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
        raise InvalidValueError(
            "The MLmodel file has no 'flavors' mapping; it is not an MLflow model."
        )
    return data


def input_example(folder: Path, mlmodel: dict[str, Any]) -> pd.DataFrame:
    """The input example MLflow saved with the model, as a DataFrame."""
    info = mlmodel.get("saved_input_example_info") or {}
    path = folder / str(info.get("artifact_path") or "input_example.json")
    if not path.is_file():
        raise InvalidValueError(
            "The MLflow model has no input example, which Mainsail needs for the signature and "
            "a test prediction. Log it with mlflow.<flavor>.log_model(..., input_example=X[:5])."
        )
    data = json.loads(path.read_text())
    if isinstance(data, dict) and "columns" in data and "data" in data:
        return pd.DataFrame(data["data"], columns=[str(c) for c in data["columns"]])
    if isinstance(data, dict) and ("inputs" in data or "instances" in data):
        data = data.get("inputs", data.get("instances"))
    if isinstance(data, list) and data and isinstance(data[0], list):
        return pd.DataFrame(data, columns=[f"f{i}" for i in range(len(data[0]))])
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return pd.DataFrame(data)
    raise InvalidValueError(
        f"Cannot read the MLflow input example {path.name}: expected split-oriented columns and "
        f"data, or a list of rows; got {type(data).__name__}."
    )


def _sklearn(folder: Path, conf: dict[str, Any]) -> tuple[Any, str] | None:
    if conf.get("serialization_format") != "skops":
        return None
    import skops.io as sio

    data = (folder / str(conf.get("pickled_model") or "model.skops")).read_bytes()
    untrusted = sio.get_untrusted_types(data=data)
    unsafe = [t for t in untrusted if not t.startswith(SAFE_TYPE_PREFIXES)]
    if unsafe:
        raise UnsupportedModelError(
            f"The skops file holds types outside scikit-learn, NumPy and SciPy: {', '.join(unsafe)}. "
            "Mainsail will not trust them on registration; register the model with the "
            "Mainsail SDK, or opt in to pickle (tag mainsail.allow_pickle=true)."
        )
    return sio.loads(data, trusted=untrusted), "sklearn"


def _xgboost(folder: Path, conf: dict[str, Any]) -> tuple[Any, str] | None:
    import xgboost as xgb

    classes = {
        "xgboost.sklearn.XGBClassifier": xgb.XGBClassifier,
        "xgboost.sklearn.XGBRegressor": xgb.XGBRegressor,
        "xgboost.core.Booster": xgb.Booster,
    }
    cls = classes.get(str(conf.get("model_class")))
    if cls is None:
        return None
    model = cls()
    model.load_model(str(folder / str(conf["data"])))
    return model, "xgboost"


def _lightgbm(folder: Path, conf: dict[str, Any]) -> tuple[Any, str] | None:
    if conf.get("model_class") != "lightgbm.basic.Booster":
        return None  # MLflow pickles LightGBM's scikit-learn wrappers
    import lightgbm as lgb

    return lgb.Booster(model_file=str(folder / str(conf["data"]))), "lightgbm"


_CONVERTERS = {"sklearn": _sklearn, "xgboost": _xgboost, "lightgbm": _lightgbm}


def convert(folder: Path, mlmodel: dict[str, Any]) -> tuple[Any, str, str] | None:
    """The model object, Mainsail flavor and a note, or ``None`` if no safe path exists."""
    for name, fn in _CONVERTERS.items():
        conf = mlmodel["flavors"].get(name)
        if isinstance(conf, dict):
            got = fn(folder, conf)
            if got is not None:
                model, flavor = got
                fmt = conf.get("serialization_format") or conf.get("model_format") or "native"
                return (
                    model,
                    flavor,
                    f"MLflow {name} ({fmt}) converted to Mainsail's {flavor} flavor",
                )
    return None


def register_mlflow_model(
    ctx: Context,
    name: str,
    folder: Path,
    run_id: str | None,
    allow_pickle: bool = False,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    created_by: str | None = None,
) -> ModelVersion:
    """Register the MLflow model in ``folder`` as the next version of ``name``.

    ``created_by`` is who registers it (the caller of the server, the MLflow version's user).

    Examples
    --------
    >>> register_mlflow_model(ctx, "churn", Path("mlruns/.../model"), run_id)  # doctest: +SKIP
    """
    from mainsail.registry._registry import register_model

    mlmodel = _mlmodel(folder)
    example = input_example(folder, mlmodel)
    tags = dict(tags or {})
    converted = convert(folder, mlmodel)
    if converted is not None:
        model, flavor, note = converted
        tags[CONVERSION_TAG] = note
        return register_model(
            ctx,
            model,
            name,
            run=run_id,
            input_example=example,
            description=description,
            tags=tags,
            flavor=flavor,
            created_by=created_by,
        )
    flavors = ", ".join(sorted(mlmodel["flavors"]))
    if not allow_pickle:
        raise UnsupportedModelError(
            f"The MLflow model has flavors {flavors}, none of which Mainsail reads without "
            "unpickling (it converts scikit-learn saved with skops, xgboost, and LightGBM "
            "Boosters). Log it with serialization_format='skops', or opt in to keep it as a "
            "pickled pyfunc model: tag the version mainsail.allow_pickle=true."
        )
    tags[CONVERSION_TAG] = f"MLflow model ({flavors}) kept as pyfunc; loading it unpickles"
    with tempfile.TemporaryDirectory(prefix="mainsail-mlflow-") as tmp:
        copy = Path(tmp) / "mlflow_model"
        shutil.copytree(folder, copy)
        return register_model(
            ctx,
            MlflowPyfuncModel(),
            name,
            run=run_id,
            input_example=example,
            description=description,
            tags=tags,
            allow_pickle=True,
            flavor="pyfunc",
            created_by=created_by,
            artifacts={"mlflow_model": str(copy)},
        )


# -- importing an MLflow registry -----------------------------------------------------------------
def _version_folder(src: Any, v: dict[str, Any]) -> tuple[Path | None, str | None, str]:
    """(local folder, logged model id, path within the run) of an MLflow model version."""
    from mainsail.tracking._mlflow_import import local_path

    source = str(v.get("source") or "")
    model_id = source[len("models:/") :].strip("/") if source.startswith("models:/m-") else None
    if model_id:
        rows = src.rows("logged_models", lambda t: t.c.model_id == model_id)
        folder = local_path(str(rows[0]["artifact_location"])) if rows else None
        return folder, model_id, ""
    if source.startswith("runs:/"):
        rid, _, path = source[len("runs:/") :].partition("/")
        rows = src.rows("runs", lambda t: t.c.run_uuid == rid)
        base = local_path(str(rows[0]["artifact_uri"])) if rows else None
        return (base / path if base else None), None, path.strip("/")
    folder = local_path(str(v.get("storage_location") or source))
    return folder, None, ""


def import_registered_models(
    ctx: Context,
    src: Any,
    names: Any,
    summary: Any,
    progress: Any = None,
) -> None:
    """Import the registered models of MLflow store ``src`` (all, or ``names``)."""
    from mainsail.core._errors import MainsailError, NotFoundError
    from mainsail.tracking._mlflow import (
        DEFAULT_EXPERIMENT,
        LOGGED_MODEL_DIR,
        VERSION_MODEL_ID_TAG,
        VERSION_NUMBER_TAG,
        VERSION_SOURCE_TAG,
        VERSION_URI_TAG,
    )

    models = src.rows("registered_models")
    if names:
        known = {m["name"] for m in models}
        missing = set(names) - known
        if missing:
            raise InvalidValueError(
                f"No MLflow registered model named {', '.join(sorted(missing))}. The store has: "
                + (", ".join(sorted(known)) or "none")
            )
        models = [m for m in models if m["name"] in set(names)]
    store = ctx.store
    for i, m in enumerate(models):
        name = m["name"]
        try:
            existing = store.list_model_versions(name)
        except NotFoundError:
            existing = []
        by_mlflow = {
            int(x.tags[VERSION_NUMBER_TAG]): x.version
            for x in existing
            if VERSION_NUMBER_TAG in x.tags
        }
        rows = sorted(
            src.rows("model_versions", lambda t, n=name: t.c.name == n),
            key=lambda r: int(r["version"]),
        )
        vtags: dict[int, dict[str, str]] = {}
        for t in src.rows("model_version_tags", lambda t, n=name: t.c.name == n):
            vtags.setdefault(int(t["version"]), {})[str(t["key"])] = str(t["value"])
        for v in rows:
            number = int(v["version"])
            if number in by_mlflow:
                summary.model_versions_existing += 1
                continue
            folder, model_id, path = _version_folder(src, v)
            if folder is None or not (folder / "MLmodel").is_file():
                summary.skipped.append(
                    f"model {name} version {number}: no local MLflow model folder for source {v.get('source')!r}"
                )
                continue
            run_id = str(v["run_id"]) if v.get("run_id") else None
            exp_id = None
            if run_id is not None:
                try:
                    exp_name = store.get_run(run_id).experiment
                    eid = store.get_or_create_experiment(exp_name)
                    exp_id = "0" if exp_name == DEFAULT_EXPERIMENT else str(eid)
                except NotFoundError:
                    run_id = None  # the run was not imported (another experiment filter)
            tags = {
                **vtags.get(number, {}),
                VERSION_NUMBER_TAG: str(number),
                VERSION_SOURCE_TAG: str(v.get("source") or ""),
            }
            if model_id:
                tags[VERSION_MODEL_ID_TAG] = model_id
            if exp_id is not None and run_id is not None:
                tags[VERSION_URI_TAG] = (
                    f"mlflow-artifacts:/{exp_id}/{LOGGED_MODEL_DIR}/{model_id}/artifacts"
                    if model_id
                    else f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts/{path}"
                )
            try:
                mv = register_mlflow_model(
                    ctx,
                    name,
                    folder,
                    run_id,
                    False,
                    v.get("description") or None,
                    tags,
                    created_by=v.get("user_id") or None,
                )
            except MainsailError as exc:
                summary.skipped.append(f"model {name} version {number}: {exc.message}")
                continue
            by_mlflow[number] = mv.version
            summary.model_versions += 1
            stage = str(v.get("current_stage") or "None")
            if stage in ("Production", "Staging"):
                store.set_alias(name, stage.lower(), mv.version, "mlflow-import")
                summary.aliases += 1
            elif stage == "Archived":
                store.set_version_status(name, mv.version, "archived")
        current: dict[str, int] = {}
        if by_mlflow:
            current = {a: x.version for x in store.list_model_versions(name) for a in x.aliases}
        for a in src.rows("registered_model_aliases", lambda t, n=name: t.c.name == n):
            target = by_mlflow.get(int(a["version"]))
            if target is None:
                summary.skipped.append(
                    f"model {name} alias {a['alias']}: version {a['version']} was not imported"
                )
            elif current.get(a["alias"]) != target:
                store.set_alias(name, str(a["alias"]), target, "mlflow-import")
                summary.aliases += 1
        if progress is not None:
            progress("registered models", i + 1, len(models))
