"""Organisation rules behind the admin screens: manager chains and passwords. Pure."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

PASSWORD_MIN = 8  # the same minimum as `salesgate user add`
PASSWORD_MAX = 200
# No 0/O, 1/l/I: an admin reads the temporary password out to a colleague or writes it down.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


def temporary_password(length: int = 12) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def password_problem(password: str) -> str | None:
    """Why a new password is refused (a code), or None."""
    if len(password) < PASSWORD_MIN:
        return "password_too_short"
    if len(password) > PASSWORD_MAX:
        return "password_too_long"
    return None


def manager_loop(user_id: str, manager_id: str | None, manager_of: Mapping[str, str | None]) -> list[str] | None:
    """The chain ``user → manager → … → user`` that making ``manager_id`` the direct manager of
    ``user_id`` would close, or None when it closes no loop. ``manager_of`` maps everyone else's
    id to their current manager's id."""
    if manager_id is None:
        return None
    chain, current, seen = [user_id], manager_id, set()
    while current is not None:
        chain.append(current)
        if current == user_id:
            return chain
        if current in seen:  # an old loop above that does not pass through this user
            return None
        seen.add(current)
        current = manager_of.get(current)
    return None

