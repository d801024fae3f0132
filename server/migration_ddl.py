"""Hand-written migrations that run a list of DDL statements (indexes Piccolo cannot express).

Each statement is written once and runs as it is on SQLite and PostgreSQL; `IF NOT EXISTS` keeps a
rerun harmless.
"""

from __future__ import annotations

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder


def ddl_migration(migration_id: str, description: str, statements: tuple[str, ...]):
    """The `forwards` of a migration that runs `statements` in order."""

    async def forwards():
        manager = MigrationManager(migration_id=migration_id, app_name="salesgate", description=description)

        async def run():
            engine = engine_finder()
            for statement in statements:
                await engine.run_ddl(statement)

        manager.add_raw(run)
        return manager

    return forwards
