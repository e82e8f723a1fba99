"""Records of users, tokens and audit events (defined in core: the store returns them)."""

from mainsail.core._security_schemas import AuditEvent, IssuedToken, TokenInfo, User

__all__ = ["AuditEvent", "IssuedToken", "TokenInfo", "User"]
