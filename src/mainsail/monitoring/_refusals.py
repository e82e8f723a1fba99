"""Data-quality issues from refused requests (counted per reason and feature by the server).

A request refused with a 4xx for schema or type reasons never reaches the prediction log.
The serving replicas count them in their sketch windows (``refusals``); this turns the
merged counts into :class:`~mainsail.monitoring._quality.QualityIssue` s, so a renamed or
retyped upstream column shows in data quality — and can alert — even when every request
was refused and no row was logged.
"""

from __future__ import annotations

from mainsail.monitoring._quality import QualityIssue, QualityReport
from mainsail.monitoring._sources import WindowSketch

_CHECK = {"missing_column": "schema", "unexpected_column": "schema", "type": "type"}
_CHECK["missing_value"] = "missing"


def refusal_issues(sketch: WindowSketch) -> list[QualityIssue]:
    """One issue per (reason, feature) refused in the window; malformed requests excluded
    (a client bug, not the data: they show in the error counters)."""
    if not sketch.refused:
        return []
    total = sketch.refused + sketch.requests
    new = sorted(sketch.refusals.get("unexpected_column", {}))
    issues = []
    for reason, counts in sorted(sketch.refusals.items()):
        check = _CHECK.get(reason)
        if check is None:
            continue
        for feature, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            rate = n / total
            what = {
                "missing_column": f"input {feature!r} was missing",
                "unexpected_column": f"column {feature!r} is not an input of the model",
                "type": f"input {feature!r} had a value of the wrong type",
                "missing_value": f"input {feature!r} had a missing value",
            }[reason]
            hint = ""
            if reason == "missing_column" and new:
                hint = (
                    f" Column(s) {', '.join(map(repr, new[:5]))} arrived instead: was an "
                    "upstream column renamed?"
                )
            issues.append(
                QualityIssue(
                    check=check,  # type: ignore[arg-type]
                    column=feature,
                    count=n,
                    rate=rate,
                    message=f"{n} request(s) ({rate:.1%} of requests) refused: {what}.{hint}",
                )
            )
    return issues


def with_refusals(report: QualityReport | None, sketch: WindowSketch) -> QualityReport | None:
    """``report`` (or an empty one) with the window's refusal issues added."""
    issues = refusal_issues(sketch)
    if not issues:
        return report
    if report is None:
        report = QualityReport(rows=sketch.rows, issues=[], missing_rates={})
    return report.model_copy(update={"issues": [*issues, *report.issues]})


__all__ = ["refusal_issues", "with_refusals"]
