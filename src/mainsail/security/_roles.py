"""Roles, scopes and the authenticated principal.

Roles are ordered: each includes everything the roles before it may do.

| role | may |
|---|---|
| viewer | read everything in its projects |
| developer | log runs, metrics, artifacts and datasets; register models |
| deployer | move aliases, archive versions, deploy endpoints and run rollouts |
| admin | manage users, role bindings and tokens; read the audit log |

A binding's project is a name pattern (``fnmatch``) matched against the resource's
namespace: the experiment of a run, the name of a model or dataset. ``*`` is every project.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Literal

from mainsail.core._errors import InvalidValueError

Role = Literal["viewer", "developer", "deployer", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "developer", "deployer", "admin")
SCOPES: tuple[str, ...] = ("api", "read", "predict")
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


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user or service account with its role bindings and token scopes.

    Examples
    --------
    >>> p = Principal("ana", {"churn-*": "developer"}, ("api",))
    >>> p.role_in("churn-daily"), p.role_in("fraud")
    ('developer', None)
    """

    name: str
    bindings: dict[str, str] = field(default_factory=dict)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    token_id: int | None = None

    def role_in(self, project: str | None) -> str | None:
        """The highest role bound to ``project`` (``None``: to any project)."""
        best: str | None = None
        for pattern, role in self.bindings.items():
            matches = project is None or pattern == "*" or fnmatch.fnmatchcase(project, pattern)
            if matches and (best is None or rank(role) > rank(best)):
                best = role
        return best

    def may(self, role: str, project: str | None) -> bool:
        have = self.role_in(project)
        return have is not None and rank(have) >= rank(role)


ANONYMOUS_ADMIN = Principal("anonymous", {"*": "admin"}, SCOPES)
