"""Smoke requests: rows of the target's reference sample sent to one variant of a rollout.

Blue-green's preview gets no client traffic, so without them its pre-promotion analysis
would decide on no evidence at all. The controller sends each row as one V2 inference
request addressed to the variant (``x-mainsail-variant``) at the spec's ``smoke_url`` (a data
plane serving the endpoint); the data plane counts them in the variant's serving stats like
any request, and the answers are kept as the ``smoke_requests`` check.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from mainsail.rollout._types import AnalysisCheck

if TYPE_CHECKING:
    import pandas as pd

    from mainsail.rollout._plan import Plan
    from mainsail.store._context import Context


@dataclass
class SmokeResult:
    sent: int = 0
    answered: int = 0  # 2xx answers from the addressed variant
    errors: int = 0  # 5xx answers from it
    other: int = 0  # answered by another variant (the plane has not loaded it yet) or 4xx
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "answered": self.answered, "errors": self.errors,
                "other": self.other, "message": self.message}  # fmt: skip


def reference_rows(ctx: Context, plan: Plan) -> pd.DataFrame:
    """The target version's stored reference sample (``input_example.parquet``)."""
    import pandas as pd

    from mainsail.registry._registry import materialise, resolve_version

    mv = resolve_version(ctx, plan.target.address)
    return pd.read_parquet(materialise(ctx, mv) / "input_example.parquet")


def v2_body(frame: pd.DataFrame, row: int) -> bytes:
    """One row of ``frame`` as an Open Inference Protocol request."""
    from mainsail.serving._payloads import v2_datatype

    inputs = []
    for col in frame.columns:
        values = frame[col].iloc[row : row + 1].to_numpy()
        dtype = v2_datatype(values)
        data = [str(v) for v in values] if dtype == "BYTES" else values.tolist()
        inputs.append({"name": str(col), "shape": [1], "datatype": dtype, "data": data})
    return orjson.dumps({"inputs": inputs})


def send_smoke(
    url: str, endpoint: str, role: str, frame: pd.DataFrame, n: int, timeout: float
) -> SmokeResult:
    """Send ``n`` one-row requests (cycling over ``frame``) to variant ``role``."""
    result = SmokeResult()
    target = f"{url.rstrip('/')}/v2/models/{endpoint}/infer"
    headers = {"content-type": "application/json", "x-mainsail-variant": role}
    if frame.empty:
        result.message = "the target version has no reference sample to send"
        return result
    for i in range(n):
        body = v2_body(frame, i % len(frame))
        req = urllib.request.Request(target, data=body, method="POST", headers=headers)
        result.sent += 1
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - configured
                by = resp.headers.get("x-mainsail-variant")
                if by == role:
                    result.answered += 1
                else:
                    result.other += 1
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 and exc.headers.get("x-mainsail-variant") in (role, None):
                result.errors += 1
            else:
                result.other += 1
            if not result.message:
                result.message = f"{target} answered {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            result.other += n - i
            result.sent = n
            result.message = f"{target} unreachable: {exc}"
            break
    return result


def smoke_check(role: str, url: str | None, done: dict[str, Any] | None) -> AnalysisCheck:
    """The ``smoke_requests`` check: pass when every smoke request reached ``role`` and was
    answered; fail on a 5xx from it; inconclusive when none could be sent or delivered."""
    if url is None:
        return AnalysisCheck(
            name="smoke_requests",
            status="inconclusive",
            message=f"no smoke_url in the rollout spec, so the {role} got no smoke requests; "
            "set smoke_url to a data plane serving the endpoint (http://host:port)",
        )
    if done is None:
        return AnalysisCheck(
            name="smoke_requests",
            status="inconclusive",
            message=f"no smoke request has reached the {role} at {url} yet",
        )
    sent, answered, errors = int(done["sent"]), int(done["answered"]), int(done["errors"])
    if errors:
        status = "fail"
        message = f"{errors} of {sent} smoke requests to the {role} answered 5xx"
    elif answered < sent:
        status = "inconclusive"
        message = f"{answered} of {sent} smoke requests answered by the {role}: {done['message']}"
    else:
        status = "pass"
        message = f"{answered} of {sent} smoke requests answered by the {role}"
    return AnalysisCheck(
        name="smoke_requests",
        status=status,  # type: ignore[arg-type]
        value=float(answered),
        threshold=float(sent),
        samples=sent,
        message=message,
    )
