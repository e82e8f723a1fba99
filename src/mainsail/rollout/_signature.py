"""The signature an endpoint serves today, for release checks against an endpoint.

Release checks (a lower layer) keep a hook list, ``checks._compat.ENDPOINT_SIGNATURES``;
importing :mod:`mainsail.rollout` registers this hook there, so ``check(..., endpoint=...)``
compares a candidate with what clients of the endpoint send now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mainsail.checks._compat import ENDPOINT_SIGNATURES
from mainsail.core._errors import EndpointNotFoundError
from mainsail.registry._signature import ModelSignature
from mainsail.rollout._service import DELIVERY

if TYPE_CHECKING:
    from mainsail.store._context import Context


def stored_endpoint_signature(ctx: Context, endpoint: str) -> ModelSignature | None:
    """The signature of the stable variant in the endpoint's current revision (from the
    store, or from the server when the SDK talks to one); ``None`` for an unknown endpoint.
    """
    try:
        variants = ctx.service(DELIVERY).get_endpoint(endpoint).variants
    except EndpointNotFoundError:
        return None
    stable = next((v for v in variants if v.role == "stable"), None)
    if stable is None:
        return None
    mv = ctx.store.get_model_version(stable.model, stable.version)
    return ModelSignature.from_dict(mv.signature)


def register_endpoint_signatures() -> None:
    """Add :func:`stored_endpoint_signature` to the checks' hooks (once)."""
    if stored_endpoint_signature not in ENDPOINT_SIGNATURES:
        ENDPOINT_SIGNATURES.append(stored_endpoint_signature)


__all__ = ["register_endpoint_signatures", "stored_endpoint_signature"]
