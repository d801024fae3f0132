"""Unique keys and work-queue indexes of the alert tables.

Written by hand: Piccolo's table definitions cannot express composite or partial
indexes. The unique keys are what make the deadline job safe to run twice or in
two workers at once: a second insert of the same alert, inbox item or push is a
no-op (ON CONFLICT DO NOTHING).
"""

from server.migration_ddl import ddl_migration

ID = "2026-11-27T17:08:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "alert unique keys and queue indexes"

INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS node_instance_uniq ON node_instance (opportunity, node_key, anchor_at)",
    "CREATE INDEX IF NOT EXISTS node_instance_open ON node_instance (opportunity) WHERE status = 'open'",
    "CREATE UNIQUE INDEX IF NOT EXISTS node_alarm_uniq ON node_alarm (instance, level, recipient)",
    "CREATE INDEX IF NOT EXISTS node_alarm_due ON node_alarm (fire_at) WHERE fired_tick IS NULL",
    "CREATE INDEX IF NOT EXISTS node_alarm_key ON node_alarm (alert_key)",
    "CREATE UNIQUE INDEX IF NOT EXISTS inbox_item_uniq ON inbox_item (alert, \"user\")",
    "CREATE INDEX IF NOT EXISTS inbox_item_user_created ON inbox_item (\"user\", created_at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS push_outbox_uniq ON push_outbox (inbox_item, subscription)",
    "CREATE INDEX IF NOT EXISTS push_outbox_queue ON push_outbox (not_before) WHERE status = 'pending'",
    "CREATE UNIQUE INDEX IF NOT EXISTS webhook_outbox_uniq ON webhook_outbox (webhook, alert)",
    "CREATE INDEX IF NOT EXISTS opportunity_clock_dirty ON opportunity (id) WHERE facts_rev <> clock_rev",
    "CREATE INDEX IF NOT EXISTS webhook_outbox_queue ON webhook_outbox (webhook, not_before) WHERE status = 'pending'",
)


forwards = ddl_migration(ID, DESCRIPTION, INDEXES)
