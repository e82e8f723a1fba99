"""Datasets: schema inference, mergeable profiles, validation and content-addressed versions."""

from mainsail.data._datasets import load_dataset, log_dataset, resolve_dataset_version
from mainsail.data._profile import ColumnProfile, Profile, profile_frame
from mainsail.data._schema import ColumnSchema, Schema, infer_schema
from mainsail.data._validate import ValidationReport, Violation, validate

__all__ = [
    "ColumnProfile",
    "ColumnSchema",
    "Profile",
    "Schema",
    "ValidationReport",
    "Violation",
    "infer_schema",
    "load_dataset",
    "log_dataset",
    "profile_frame",
    "resolve_dataset_version",
    "validate",
]
