"""Roles and token scopes: the vocabulary the store validates and the server enforces.

Roles are ordered: each includes everything the roles before it may do.

| role | may |
|---|---|
| viewer | read everything in its projects |
| developer | log runs, metrics, artifacts and datasets; register models |
| deployer | move aliases, archive versions, deploy endpoints and run rollouts |
| admin | manage users, role bindings and tokens; read the audit log |

A binding's project is a name pattern (``fnmatch``) matched against the resource's
namespace: the experiment of a run, the name of a model or dataset. ``*`` is every project.

Token scopes: ``api`` (the control plane), ``read`` (its read routes), ``predict`` (inference
and feedback on the endpoints the user has a role on), ``feedback`` (ground-truth labels
only, on those endpoints).
"""

from __future__ import annotations

from typing import Literal

from mainsail.core._errors import InvalidValueError

Role = Literal["viewer", "developer", "deployer", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "developer", "deployer", "admin")
SCOPES: tuple[str, ...] = ("api", "read", "predict", "feedback")
DEFAULT_SCOPES: tuple[str, ...] = ("api",)


def rank(role: str) -> int:
    return ROLES.index(role)  # type: ignore[arg-type]


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidValueError(f"Unknown role {role!r}. Valid roles are: {', '.join(ROLES)}.")
    return role  # type: ignore[return-value]


def check_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise InvalidValueError(
            f"Token scopes must be a non-empty list of: {', '.join(SCOPES)}. Got {list(scopes)!r}."
        )
    return sorted(set(scopes))


__all__ = ["DEFAULT_SCOPES", "ROLES", "SCOPES", "Role", "check_role", "check_scopes", "rank"]
