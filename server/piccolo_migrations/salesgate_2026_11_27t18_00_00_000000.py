"""An index on the robot outbox by alert: closing an alert cancels its waiting robot messages.

Closing alerts (a node done or left when an opportunity is re-planned) now cancels only the
waiting pushes and robot messages of the alerts it closes, found through this index; before,
every call swept the outbox against all closed alerts. It also serves the ON DELETE CASCADE
from alert. Written by hand, additive, the same SQL on SQLite and PostgreSQL.
"""

from server.migration_ddl import ddl_migration

ID = "2026-11-27T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook outbox index by alert"

INDEXES = (
    "CREATE INDEX IF NOT EXISTS webhook_outbox_alert ON webhook_outbox (alert)",
)


forwards = ddl_migration(ID, DESCRIPTION, INDEXES)
