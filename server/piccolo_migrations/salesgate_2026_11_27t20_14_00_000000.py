"""One pin per customer and team on the manager board (board_pin). Written by hand, additive, the same SQL on
SQLite and PostgreSQL."""

from server.migration_ddl import ddl_migration

ID = "2026-11-27T20:14:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "board pin unique per team and customer"

INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS board_pin_team_customer ON board_pin (team, customer)",
)


forwards = ddl_migration(ID, DESCRIPTION, INDEXES)
