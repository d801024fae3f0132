"""Indexes on contact phone and e-mail: a trade-show scan looks the visitor up by both.

Written by hand, additive, the same SQL on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contact phone and e-mail indexes for lead merging"

INDEXES = (
    "CREATE INDEX IF NOT EXISTS contact_phone ON contact (phone)",
    "CREATE INDEX IF NOT EXISTS contact_email ON contact (email)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="salesgate", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in INDEXES:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
