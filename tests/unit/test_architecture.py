"""The domain layer stays pure: no web framework, ORM, adapters, routes or jobs."""

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "server" / "domain"
FORBIDDEN = ("litestar", "piccolo", "server.routes", "server.queries", "server.adapters", "server.jobs",
             "server.db", "server.tables", "minio", "pywebpush", "asyncpg", "aiosqlite")


def test_domain_imports_nothing_impure():
    offenders = []
    for path in DOMAIN.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert offenders == []
    assert list(DOMAIN.rglob("*.py")), "the domain package should not be empty"
