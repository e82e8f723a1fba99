"""The optional packages explanation methods use, imported on first use."""

from __future__ import annotations

import warnings
from types import ModuleType

from mainsail.core._optional import import_optional


def shap() -> ModuleType:
    """The ``shap`` package (``pip install 'mainsail[explain]'``)."""
    # shap's import touches matplotlib APIs that emit PendingDeprecationWarnings; they say
    # nothing about the caller's code, and would fail test runs that turn warnings into errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return import_optional("shap", extra="explain")


def lime_tabular() -> ModuleType:
    """``lime.lime_tabular`` (``pip install 'mainsail[explain]'``)."""
    return import_optional("lime.lime_tabular", extra="explain", package="lime")


def xgboost() -> ModuleType:
    return import_optional("xgboost", extra="xgboost")
