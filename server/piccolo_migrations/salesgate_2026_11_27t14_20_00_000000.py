"""Append-only triggers (stage transitions, audit log) and composite unique indexes.

Written by hand: Piccolo's table definitions cannot express either.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T14:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "append-only triggers and composite unique indexes"

APPEND_ONLY = ("stage_transition", "audit_log")

INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS opportunity_collaborator_uniq "
    "ON opportunity_collaborator (opportunity, \"user\")",
    "CREATE INDEX IF NOT EXISTS activity_customer_occurred "
    "ON activity (customer, occurred_at)",
    "CREATE INDEX IF NOT EXISTS customer_owner_name ON customer (owner, name)",
    "CREATE INDEX IF NOT EXISTS customer_team_name ON customer (team, name)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="salesgate", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in INDEXES:
            await engine.run_ddl(statement)
        if engine.engine_type == "sqlite":
            for table in APPEND_ONLY:
                for op in ("UPDATE", "DELETE"):
                    await engine.run_ddl(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} "
                        f"BEFORE {op} ON {table} BEGIN "
                        f"SELECT RAISE(ABORT, '{table} is append-only'); END"
                    )
        else:
            await engine.run_ddl(
                "CREATE OR REPLACE FUNCTION salesgate_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
            )
            for table in APPEND_ONLY:
                await engine.run_ddl(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
                await engine.run_ddl(
                    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE "
                    f"ON {table} FOR EACH ROW EXECUTE FUNCTION salesgate_append_only()"
                )

    manager.add_raw(run)
    return manager
