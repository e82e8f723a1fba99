"""Users, service accounts, per-project roles, hashed bearer tokens and the audit log.

Examples
--------
>>> from mainsail.security import Principal
>>> Principal("ci", {"*": "deployer"}).may("developer", "churn")
True
"""

from mainsail.core._tokens import hash_token, new_token
from mainsail.security._models import AuditEvent, IssuedToken, TokenInfo, User
from mainsail.security._roles import (
    ANONYMOUS_ADMIN,
    DEFAULT_SCOPES,
    ROLES,
    SCOPES,
    Principal,
    Role,
    check_role,
    rank,
)
from mainsail.security._service import Authenticator, create_user_with_token, issue_token

__all__ = [
    "ANONYMOUS_ADMIN",
    "DEFAULT_SCOPES",
    "ROLES",
    "SCOPES",
    "AuditEvent",
    "Authenticator",
    "IssuedToken",
    "Principal",
    "Role",
    "TokenInfo",
    "User",
    "check_role",
    "create_user_with_token",
    "hash_token",
    "issue_token",
    "new_token",
    "rank",
]
