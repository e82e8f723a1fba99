"""The ``explanations`` release check: what the candidate relies on, against the champion.

Policy section (every key optional)::

    explanations:
      top_k: 5                       # features compared
      min_overlap: 0.6               # judged: share of the baseline's top-k the candidate
                                     #   keeps in its own top-k (needs a baseline)
      forbidden: [customer_id, age]  # features that must not drive the predictions
      max_forbidden_share: 0.05      # judged: the largest share of total importance one
                                     #   forbidden feature may carry
      rows: 500                      # check rows explained (a deterministic sample)
      method: auto                   # or a registered explainer

Importance is the mean |attribution| (``mainsail.explanations.global_importance``) of each
model on the same check rows; a feature's *share* is its importance over the sum. Without a
baseline, the top-k comparison is reported (the candidate's top features) but not judged.
A model no explainer supports gives an inconclusive outcome, never an error. The cost is
bounded as at registration: exact methods explain ``rows`` rows, the sampling fallback at
most 100 (``mainsail.explanations._importance``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import Field

from mainsail.checks._policy import _Section
from mainsail.checks._types import CheckContext, CheckOutcome
from mainsail.core._errors import InvalidValueError


class ExplanationsPolicy(_Section):
    top_k: int = Field(default=5, ge=1, le=100)
    min_overlap: float | None = Field(default=None, ge=0, le=1)
    forbidden: list[str] = Field(default_factory=list)
    max_forbidden_share: float = Field(default=0.05, ge=0, le=1)
    rows: int = Field(default=500, ge=10, le=100_000)
    method: str = "auto"


def _shares(importance: pd.Series) -> pd.Series:
    total = float(importance.sum())
    return importance / total if total > 0 else importance * 0.0


class _Unexplained(Exception):
    """A model no explainer could explain here (the reason is the message)."""


class ExplanationsCheck:
    """Top-k features of the candidate vs the baseline; forbidden features' share."""

    name = "explanations"
    config_model = ExplanationsPolicy
    order = 70

    def __init__(self, config: ExplanationsPolicy) -> None:
        self.config = config

    def _importance(self, context: CheckContext, which: str) -> tuple[pd.Series, dict[str, Any]]:
        """Importance per feature (largest first) and how it was measured; raises
        :class:`_Unexplained` when the model cannot be explained."""
        from mainsail.explanations._importance import importance_record

        model = context.model if which == "candidate" else context.baseline
        data = context.X if which == "candidate" or context.frame is None else context.frame
        record = importance_record(
            model, data, seed=context.seed, max_rows=self.config.rows, method=self.config.method
        )
        if "skipped" in record:
            raise _Unexplained(record["skipped"])
        how = {k: record[k] for k in ("method", "output_space", "rows", "exact")}
        return pd.Series(record["features"], dtype="float64"), how

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        cfg = self.config
        names = context.model.signature.input_names
        unknown = [f for f in cfg.forbidden if f not in names]
        if unknown:
            raise InvalidValueError(
                f"explanations.forbidden names {', '.join(map(repr, unknown))}, which "
                f"{'is not a model input' if len(unknown) == 1 else 'are not model inputs'}. "
                f"Inputs are: {', '.join(names)}."
            )
        try:
            candidate, how = self._importance(context, "candidate")
        except _Unexplained as exc:
            return [
                CheckOutcome(
                    name="explanations",
                    kind="explanations",
                    status="inconclusive",
                    detail=f"the candidate could not be explained: {exc}",
                )
            ]
        share = _shares(candidate)
        out = [self._top_k(context, share, how)]
        for feature in cfg.forbidden:
            value = float(share.get(feature, 0.0))
            rank = list(share.index).index(feature) + 1
            ok = value <= cfg.max_forbidden_share
            out.append(
                CheckOutcome(
                    name=f"explanations.forbidden.{feature}",
                    kind="explanations",
                    status="pass" if ok else "fail",
                    value=value,
                    threshold=cfg.max_forbidden_share,
                    detail=f"forbidden feature {feature!r} carries {value:.1%} of the "
                    f"candidate's importance (rank {rank} of {len(share)}; max "
                    f"{cfg.max_forbidden_share:.1%})",
                    data={"feature": feature, "share": value, "rank": rank, **how},
                )
            )
        return out

    def _top_k(self, context: CheckContext, share: pd.Series, how: dict[str, Any]) -> CheckOutcome:
        cfg = self.config
        k = min(cfg.top_k, len(share))
        top = [str(f) for f in share.index[:k]]
        data: dict[str, Any] = {
            "candidate_top": top,
            "candidate_share": {str(f): float(v) for f, v in share.items()},
            **how,
        }
        if context.baseline is None:
            return CheckOutcome(
                name="explanations.top_k",
                kind="explanations",
                status="pass" if cfg.min_overlap is None else "inconclusive",
                detail=f"candidate's top {k}: {', '.join(top)} (no baseline to compare with)",
                data=data,
            )
        try:
            base_share = _shares(self._importance(context, "baseline")[0])
        except _Unexplained as exc:
            return CheckOutcome(
                name="explanations.top_k",
                kind="explanations",
                status="inconclusive",
                detail=f"the baseline could not be explained: {exc}",
                data=data,
            )
        base_top = [str(f) for f in base_share.index[: min(cfg.top_k, len(base_share))]]
        kept = [f for f in base_top if f in top]
        overlap = len(kept) / len(base_top) if base_top else 1.0
        data.update(
            {
                "baseline_top": base_top,
                "baseline_share": {str(f): float(v) for f, v in base_share.items()},
                "overlap": overlap,
                "new_in_top": [f for f in top if f not in base_top],
                "dropped_from_top": [f for f in base_top if f not in top],
            }
        )
        detail = (
            f"top {k}: candidate {', '.join(top)}; baseline {', '.join(base_top)} "
            f"({len(kept)} of {len(base_top)} kept"
            + (f", min {cfg.min_overlap:.0%})" if cfg.min_overlap is not None else ")")
        )
        judged = cfg.min_overlap is not None
        ok = not judged or overlap >= float(cfg.min_overlap or 0.0)
        return CheckOutcome(
            name="explanations.top_k",
            kind="explanations",
            status="pass" if ok else "fail",
            value=overlap,
            threshold=cfg.min_overlap,
            detail=detail,
            data=data,
        )


__all__ = ["ExplanationsCheck", "ExplanationsPolicy"]
