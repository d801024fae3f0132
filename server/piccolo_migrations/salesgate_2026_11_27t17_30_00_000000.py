"""Indexes on contact phone and e-mail: a trade-show scan looks the visitor up by both.

Written by hand, additive, the same SQL on SQLite and PostgreSQL.
"""

from server.migration_ddl import ddl_migration

ID = "2026-11-27T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contact phone and e-mail indexes for lead merging"

INDEXES = (
    "CREATE INDEX IF NOT EXISTS contact_phone ON contact (phone)",
    "CREATE INDEX IF NOT EXISTS contact_email ON contact (email)",
)


forwards = ddl_migration(ID, DESCRIPTION, INDEXES)
