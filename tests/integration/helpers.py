"""Building organisations and authenticated clients for integration tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.queries import users
from server.queries.sessions import create_token

PASSWORD = "correct horse battery"
_HASH: list[str] = []


def password_hash() -> str:
    """Hash the shared test password once per session (argon2 takes ~0.1 s a hash)."""
    if not _HASH:
        _HASH.append(users.hash_password(PASSWORD))
    return _HASH[0]


@dataclass
class Org:
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


# username: (roles, team, manager)
DEFAULT_ORG = {
    "admin": (("admin",), None, None),
    "mgr_a": (("manager", "rep"), "Team A", None),
    "rep_a1": (("rep",), "Team A", "mgr_a"),
    "rep_a2": (("rep",), "Team A", "mgr_a"),
    "mgr_b": (("manager",), "Team B", None),
    "rep_b1": (("rep",), "Team B", "mgr_b"),
    "presales": (("presales",), "Team A", "mgr_a"),
}


async def make_org(people: dict | None = None) -> Org:
    org = Org()
    for username, (roles, team, manager) in (people or DEFAULT_ORG).items():
        user = await users.create_user(username=username, password=PASSWORD, roles=roles,
                                       display_name=username.upper(), team=team, manager_username=manager,
                                       password_hash=password_hash())
        org.ids[username] = str(user.id)
        org.tokens[username], _ = await create_token(user.id, "tests")
    return org


async def login(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in with a cookie session; returns the CSRF header to send on unsafe requests."""
    resp = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return {"X-CSRF-Token": resp.json()["csrf_token"]}
