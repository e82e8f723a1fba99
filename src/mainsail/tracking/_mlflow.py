"""Names shared by the MLflow API and the MLflow importer: how MLflow things are kept.

- MLflow's default experiment ``"0"`` is Mainsail's experiment ``Default``.
- A deleted MLflow run is a run tagged ``mlflow.lifecycle_stage=deleted``.
- An MLflow 3 logged model is recorded on its source run as the tag
  ``mlflow.loggedModel.<model id>`` (JSON) with its files under ``models/<model id>/``.
"""

from __future__ import annotations

DEFAULT_EXPERIMENT = "Default"
LIFECYCLE_TAG = "mlflow.lifecycle_stage"
LOGGED_MODEL_TAG_PREFIX = "mlflow.loggedModel."
LOGGED_MODEL_DIR = "models"
# model version tags: where an MLflow model came from, and where MLflow clients download it
VERSION_SOURCE_TAG = "mlflow.source"
VERSION_URI_TAG = "mlflow.download_uri"
VERSION_MODEL_ID_TAG = "mlflow.model_id"
VERSION_NUMBER_TAG = "mlflow.model_version"
RUN_STATUSES = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}
