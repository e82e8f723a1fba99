"""Model registry: immutable versions, aliases with history, signatures, cards, loading."""

from mainsail.registry._card import render_html, render_markdown
from mainsail.registry._registry import (
    LoadedModel,
    load_model,
    load_model_dir,
    materialise,
    register_model,
    resolve_version,
    set_alias,
)
from mainsail.registry._signature import ModelSignature, infer_signature, prepare_input

__all__ = [
    "LoadedModel",
    "ModelSignature",
    "infer_signature",
    "load_model",
    "load_model_dir",
    "materialise",
    "prepare_input",
    "register_model",
    "render_html",
    "render_markdown",
    "resolve_version",
    "set_alias",
]
