"""One check-in per user and day; contributions by opportunity and by time.

Written by hand (Piccolo cannot express composite indexes), additive, the same
SQL on SQLite and PostgreSQL.
"""

from server.migration_ddl import ddl_migration

ID = "2026-11-27T17:36:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "check-in and contribution indexes"

INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS checkin_user_day ON checkin (\"user\", day)",
    "CREATE INDEX IF NOT EXISTS contribution_opportunity_created ON contribution (opportunity, created_at)",
)


forwards = ddl_migration(ID, DESCRIPTION, INDEXES)
