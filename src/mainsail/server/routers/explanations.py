"""Explanations over HTTP: ``mainsail.explain`` on a registry version, computed by the server.

``POST /models/{name}/versions/{v}/explain`` takes rows (``{"columns": [...], "data":
[[...]]}``), the method (``auto`` or a registered explainer), optional background rows and the
explainer's options, and returns the :class:`~mainsail.explanations.Explanation` as JSON
(``Explanation.to_dict(data=True)``). The rows are checked against the version's signature
as ``predict`` checks them (a 4xx error saying what was expected). Explaining reads the model:
the viewer role on the project is enough (each call is audited, as every POST is).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from mainsail.core._errors import InvalidValueError
from mainsail.server._auth import Audit, from_path, permit
from mainsail.server.routers._common import Body, context

router = APIRouter(tags=["explanations"])

ModelName = Annotated[str, Path(min_length=1, max_length=250)]
VersionNo = Annotated[int, Path(ge=1, le=2**31 - 1)]
#: Rows one request may explain (and background rows it may send).
MAX_ROWS = 10_000


class Rows(Body):
    columns: Annotated[list[Annotated[str, Field(max_length=250)]], Field(max_length=10_000)]
    data: Annotated[list[list[Any]], Field(min_length=1, max_length=MAX_ROWS)]


class ExplainIn(Body):
    data: Rows
    method: Annotated[str, Field(min_length=1, max_length=64)] = "auto"
    background: Rows | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class ExplanationOut(BaseModel):
    method: str
    exact: bool
    model: str | None
    output_space: str
    feature_names: list[str]
    outputs: list[str]
    values: list[Any]
    base_values: list[Any]
    output: list[Any]
    additivity_error: float
    background_rows: int | None
    data: dict[str, Any]


@router.post("/models/{name}/versions/{version}/explain", response_model=ExplanationOut)
def explain_version(
    request: Request,
    name: ModelName,
    version: VersionNo,
    body: ExplainIn,
    audit: Audit = permit("models.explain", "viewer", from_path("name")),
) -> Any:
    """Attributions of the rows to the version's inputs (``mainsail.explain`` on it)."""
    from mainsail.explanations._explain import explain
    from mainsail.explanations._tabular import split_to_frame

    clash = sorted(set(body.options) & {"ctx", "model", "X", "method", "background"})
    if clash:
        raise InvalidValueError(
            f"options may not hold {', '.join(clash)}: they are fields of the request. "
            "Send method and background as fields, and only the explainer's own options "
            "(n_permutations, max_background, seed, ...) in options."
        )
    X = split_to_frame(body.data.model_dump(), "data")
    bg = (
        split_to_frame(body.background.model_dump(), "background")
        if body.background is not None
        else None
    )
    e = explain(
        context(request),
        f"models:/{name}/{version}",
        X,
        method=body.method,
        background=bg,
        **body.options,
    )
    return e.to_dict(data=True)
