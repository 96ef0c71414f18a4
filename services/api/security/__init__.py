"""Access to the API: client-credentials tokens (JWT), subtree and role rules, per-client quotas."""

from .access import Caller, Security, current_principal, security_of
from .scopes import Principal, require_role, require_sees, require_within

__all__ = [
    "Caller",
    "Principal",
    "Security",
    "current_principal",
    "require_role",
    "require_sees",
    "require_within",
    "security_of",
]
