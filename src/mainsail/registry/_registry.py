"""Register, resolve and load model versions.

A model package is a folder: the flavor's own files, ``input_example.parquet`` and a
small JSON manifest (``mainsail-model.json``: format version, flavor, signature, task,
classes, requirements, python version, lineage). The folder is stored in the artifact
store as a manifest of path -> digest, so every file is verified before it is loaded.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import logging
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd

from mainsail.core._errors import (
    CorruptedArtifactError,
    InvalidValueError,
    MainsailError,
)
from mainsail.core._registry_schemas import ModelVersion
from mainsail.core._uris import check_name
from mainsail.registry._reference import (
    explain_reference,
    read_reference_sample,
    training_reference,
    warn_no_reference,
    write_reference_sample,
)
from mainsail.registry._signature import ExtraPolicy, ModelSignature, infer_signature, prepare_input
from mainsail.registry._versions import _actor, resolve_version, set_alias
from mainsail.runtimes import (
    check_flavor_meta,
    detect_flavor,
    feature_importance,
    get_runtime_class,
)

if TYPE_CHECKING:
    from mainsail.store._context import Context

_log = logging.getLogger(__name__)

MANIFEST = "mainsail-model.json"
FORMAT_VERSION = 1


def _requirements(packages: tuple[str, ...]) -> list[str]:
    """``dist==version`` of what saved the model, by distribution name: the module
    ``xgboost`` is installed as ``xgboost-cpu``, and that is what must be installed again."""
    out = []
    for pkg in ("mainsail", "numpy", "pandas", *packages):
        try:
            out.append(f"{pkg}=={md.version(pkg)}")
        except md.PackageNotFoundError:
            dists = md.packages_distributions().get(pkg.replace("-", "_"), [])
            out.append(f"{dists[0]}=={md.version(dists[0])}" if dists else pkg)
    return out


def _run_lineage(
    ctx: Context, run: Any
) -> tuple[str | None, dict[str, float], list[str], str | None]:
    if run is None:
        return None, {}, [], None
    run_id = run if isinstance(run, str) else getattr(run, "id", None)
    if run_id is None:
        raise InvalidValueError(f"Expected a run, a run id or None. Got {type(run).__name__}.")
    if hasattr(run, "flush"):
        run.flush()
    stored = ctx.store.get_run(run_id)
    return run_id, dict(stored.metrics), [i.address for i in stored.inputs], stored.git_commit


#: Rows of ``reference=`` the model predicts on at registration, for its prediction profile.
PREDICTION_SAMPLE = 50_000


def _reference_predictions(runtime: Any, frame: pd.DataFrame) -> pd.Series | None:
    """The model's outputs on (a sample of) the reference: the baseline of prediction drift.

    A model that cannot take the reference's missing values predicts on its complete rows.
    ``None`` when it cannot predict on those either (the version then has no prediction
    baseline and monitors report no prediction drift), and for multi-output models, whose
    predictions live sketches do not profile either.
    """
    if len(frame) > PREDICTION_SAMPLE:
        frame = frame.sample(PREDICTION_SAMPLE, random_state=0)
    preds = None
    for rows in (frame, frame.dropna()):
        if rows.empty:
            break
        try:
            preds = np.asarray(runtime.predict(rows.reset_index(drop=True)))
            break
        except Exception as exc:  # noqa: BLE001 - any model error: no baseline, say why
            _log.warning("No prediction baseline on %d reference rows: %s", len(rows), exc)
    if preds is None or preds.ndim != 1:
        return None
    return pd.Series(preds, name="prediction")


def register_model(
    ctx: Context,
    model: Any,
    name: str,
    run: Any = None,
    input_example: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    description: str | None = None,
    tags: dict[str, Any] | None = None,
    card: dict[str, Any] | None = None,
    allow_pickle: bool = False,
    flavor: str | None = None,
    artifacts: dict[str, str] | None = None,
    created_by: str | None = None,
) -> ModelVersion:
    """Register ``model`` as the next immutable version of ``name``.

    The flavor is detected (or given as ``flavor=``); the saved package is loaded back and
    predicts on the input example before anything is recorded. ``run`` (a run or its id)
    links the version to its run, metrics and datasets; ``reference`` (the training
    features) gives the signature and the reference profile monitors compare with, and a
    global importance (mean |SHAP| on a bounded sample) stored in the card. Without
    ``reference``, the run's logged training dataset is the reference when it has one;
    otherwise the input example is, and a warning says so.
    """
    from mainsail.data._profile import profile_frame

    check_name(name, "Model")
    if input_example is None and reference is None:
        raise InvalidValueError(
            "Expected input_example= (a few rows of model input) or reference= (the training "
            "features) to infer the model's signature. Got neither."
        )
    example = input_example if input_example is not None else reference
    assert example is not None
    if not isinstance(example, pd.DataFrame):
        raise InvalidValueError(
            f"input_example must be a pandas DataFrame. Got {type(example).__name__}."
        )
    columns = list(example.columns)
    flavor = flavor or detect_flavor(model)
    runtime_cls = get_runtime_class(flavor)
    run_id, metrics, datasets, git_commit = _run_lineage(ctx, run)
    if reference is None:
        reference, why = training_reference(ctx, run_id, columns)
        if reference is None:
            warn_no_reference(name, len(example), why)
    schema_frame = reference[columns] if reference is not None else example
    with tempfile.TemporaryDirectory(prefix="mainsail-model-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        if artifacts:
            if not getattr(runtime_cls, "takes_artifacts", False):
                raise InvalidValueError(
                    f"artifacts= stores files with the model for flavors that load them "
                    f"(python-function models); the {flavor} flavor does not take any. "
                    "Drop artifacts=, or wrap the model in a mainsail.runtimes.PythonModel."
                )
            meta = runtime_cls.save(model, folder, allow_pickle, artifacts=artifacts)
        else:
            meta = runtime_cls.save(model, folder, allow_pickle)
        check_flavor_meta(flavor, meta)
        # Load the saved files back and predict: proves the package works, and gives outputs.
        runtime = runtime_cls()
        runtime.load(folder, meta)
        sample = example.head(5).reset_index(drop=True)
        try:
            preds = runtime.predict(sample)
        except Exception as exc:  # noqa: BLE001 - surfaced with context
            raise InvalidValueError(
                f"The saved {flavor} model could not predict on the input example: {exc}. "
                "Check that input_example has the columns and dtypes the model was fitted on."
            ) from exc
        ref_preds = (
            _reference_predictions(runtime, schema_frame)
            if reference is not None and "prediction" not in columns
            else None
        )
        task = meta.get("task", "other")
        classes = meta.get("classes")
        global_importance = (
            explain_reference(
                runtime,
                flavor=flavor,
                columns=columns,
                task=task,
                classes=classes,
                label=f"{name} (being registered)",
                reference=schema_frame,
            )
            if reference is not None
            else None
        )
        runtime.unload()
        signature = infer_signature(schema_frame, preds, task, classes)
        example.head(20).to_parquet(folder / "input_example.parquet", index=False)
        if reference is not None:
            write_reference_sample(folder, schema_frame)
        importance = feature_importance(model, columns)
        manifest = {
            "format_version": FORMAT_VERSION,
            "name": name,
            "flavor": flavor,
            "flavor_meta": meta,
            "signature": signature.to_dict(),
            "task": task,
            "classes": classes,
            "requirements": _requirements(runtime_cls.requires),
            "python_version": platform.python_version(),
            "allow_pickle": allow_pickle,
            "lineage": {"run_id": run_id, "datasets": datasets, "git_commit": git_commit},
        }
        (folder / MANIFEST).write_bytes(
            orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
        )
        digest, size = ctx.artifacts.put_dir(folder)
    files = {path: entry["digest"] for path, entry in ctx.artifacts.read_manifest(digest).items()}
    profile = profile_frame(schema_frame)
    if ref_preds is not None:
        # The baseline of prediction drift: monitors compare live predictions with it.
        profile.columns["prediction"] = profile_frame(ref_preds.to_frame()).columns["prediction"]
    card_data = dict(card or {})
    if importance:
        card_data.setdefault("feature_importance", importance)
    if global_importance is not None:
        # mean |SHAP| on the reference (or why there is none): the card's bar chart
        card_data.setdefault("global_importance", global_importance)
    return ctx.store.create_model_version(
        name,
        flavor=flavor,
        manifest_digest=digest,
        files=files,
        size_bytes=size,
        signature=signature.to_dict(),
        task=task,
        classes=classes,
        metrics=metrics,
        run_id=run_id,
        datasets=datasets,
        git_commit=git_commit,
        description=description,
        tags={k: str(v) for k, v in (tags or {}).items()},
        card=_json_safe(card_data),
        reference_profile=profile.to_dict(),
        allow_pickle=allow_pickle,
        created_by=created_by or _actor(),
    )


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = orjson.loads(orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY))
    return out


class LoadedModel:
    """A model ready to predict; inputs are checked against its signature first."""

    def __init__(
        self, version: ModelVersion, runtime: Any, folder: Path, extra_columns: ExtraPolicy
    ) -> None:
        self.version = version
        self.runtime = runtime
        self.folder = folder
        self.signature = ModelSignature.from_dict(version.signature)
        self.extra_columns: ExtraPolicy = extra_columns

    def __repr__(self) -> str:
        return f"<LoadedModel {self.version.address} flavor={self.version.flavor}>"

    @property
    def classes(self) -> list[Any] | None:
        return self.version.classes

    def prepare(self, data: Any) -> pd.DataFrame:
        return prepare_input(data, self.signature, self.extra_columns)

    def predict(self, data: Any) -> np.ndarray:
        """Predictions for ``data`` (a DataFrame, records or a 2-D array)."""
        return np.asarray(self.runtime.predict(self.prepare(data)))

    @property
    def has_proba(self) -> bool:
        return bool(self.runtime.has_proba)

    def predict_proba(self, data: Any) -> np.ndarray:
        if not self.runtime.has_proba:
            raise InvalidValueError(
                f"{self.version.address} ({self.version.task}) has no predict_proba."
            )
        return np.asarray(self.runtime.predict_proba(self.prepare(data)))

    def reference_sample(self) -> pd.DataFrame | None:
        """Up to 200 rows of the reference the version was registered with (``None``
        without one): background data for the explanation methods that need some."""
        return read_reference_sample(self.folder)

    def unload(self) -> None:
        self.runtime.unload()


def _verify_folder(folder: Path, files: dict[str, str]) -> bool:
    for rel, digest in files.items():
        path = folder / rel
        if not path.is_file():
            return False
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        if h.hexdigest() != digest:
            return False
    return True


def materialise(ctx: Context, version: ModelVersion) -> Path:
    """The version's folder in the local cache, every file verified against its digest."""
    cache = ctx.home / "cache" / "models" / version.manifest_digest
    if cache.is_dir():
        if _verify_folder(cache, version.files):
            return cache
        shutil.rmtree(cache, ignore_errors=True)  # tampered or partial: fetch it again
    tmp = cache.with_name(f"{cache.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    ctx.artifacts.get_dir(version.manifest_digest, tmp)  # verifies each file
    if not _verify_folder(tmp, version.files):
        shutil.rmtree(tmp, ignore_errors=True)
        raise CorruptedArtifactError(
            f"The files of {version.address} do not match the digests recorded at registration. "
            "Nothing was loaded. Register the model again."
        )
    try:
        os.replace(tmp, cache)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another process won the race
    return cache


def load_model(ctx: Context, address: Any, extra_columns: ExtraPolicy = "drop") -> LoadedModel:
    """Load ``models:/churn@champion`` (or ``/3``, ``@latest``, or a ModelVersion); files are
    verified first.

    ``extra_columns``: ``"drop"`` input columns the model was not trained on, or
    ``"reject"`` such inputs.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.load_model("models:/churn@champion").predict(df)  # doctest: +SKIP
    """
    if extra_columns not in ("drop", "reject"):
        raise InvalidValueError(f"extra_columns must be 'drop' or 'reject'. Got {extra_columns!r}.")
    version = resolve_version(ctx, address)
    folder = materialise(ctx, version)
    manifest = orjson.loads((folder / MANIFEST).read_bytes())
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise MainsailError(
            f"{version.address} was written by a newer Mainsail (package format "
            f"{manifest['format_version']}). Upgrade Mainsail to load it."
        )
    runtime = get_runtime_class(version.flavor)()
    runtime.load(folder, manifest["flavor_meta"])
    return LoadedModel(version, runtime, folder, extra_columns)


def load_model_dir(
    folder: str | os.PathLike[str], extra_columns: ExtraPolicy = "drop"
) -> LoadedModel:
    """Load a model package folder directly (e.g. inside a container), without a store.

    The files are checked against the digests in ``files.json`` when present.
    """
    path = Path(folder)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise InvalidValueError(
            f"Expected a Mainsail model folder containing {MANIFEST} at '{folder}'. It has none."
        )
    manifest = orjson.loads(manifest_path.read_bytes())
    digests = path / "files.json"
    files: dict[str, str] = orjson.loads(digests.read_bytes()) if digests.is_file() else {}
    if files and not _verify_folder(path, files):
        raise CorruptedArtifactError(
            f"The files in '{folder}' do not match files.json. Nothing was loaded."
        )
    version = ModelVersion(
        id=0,
        name=manifest.get("name", path.name),
        version=int(manifest.get("version", 0)),
        flavor=manifest["flavor"],
        manifest_digest="0" * 64,
        files=files,
        size_bytes=0,
        signature=manifest["signature"],
        task=manifest.get("task", "other"),
        classes=manifest.get("classes"),
        allow_pickle=bool(manifest.get("allow_pickle", False)),
        created_at=0,
    )
    runtime = get_runtime_class(version.flavor)()
    runtime.load(path, manifest["flavor_meta"])
    return LoadedModel(version, runtime, path, extra_columns)


__all__ = [  # resolve_version and set_alias live in _versions; callers import them from here too
    "FORMAT_VERSION",
    "MANIFEST",
    "LoadedModel",
    "load_model",
    "load_model_dir",
    "materialise",
    "register_model",
    "resolve_version",
    "set_alias",
]
