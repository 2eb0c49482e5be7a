"""Who may do what in the console: three roles, each a set of permissions (a table, read by
one function), so a page asks `allows(role, REPLAY)` and never compares role names."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    READ = "read"
    REPLAY = "replay"  # replay messages, switch simulator faults, run verify
    PERSONAL_DATA = "personal-data"  # civil ids and phone numbers shown unmasked
    PARTNERS_WRITE = "partners-write"


ROLES: dict[str, frozenset[Permission]] = {
    "viewer": frozenset({Permission.READ}),
    "operator": frozenset({Permission.READ, Permission.REPLAY}),
    "admin": frozenset(Permission),
}


def allows(role: str, permission: Permission) -> bool:
    """True when `role` carries `permission`; an unknown role carries nothing."""
    return permission in ROLES.get(role, frozenset())
