"""The authenticated principal and what it may do (roles and scopes: :mod:`mainsail.core._roles`).

A binding's project is a name pattern (``fnmatch``) matched against the resource's
namespace: the experiment of a run, the name of a model or dataset. ``*`` is every project.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from mainsail.core._roles import (
    DEFAULT_SCOPES,
    ROLES,
    SCOPES,
    Role,
    check_role,
    check_scopes,
    rank,
)


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


__all__ = [
    "ANONYMOUS_ADMIN",
    "DEFAULT_SCOPES",
    "ROLES",
    "SCOPES",
    "Principal",
    "Role",
    "check_role",
    "check_scopes",
    "rank",
]
