"""Indexes of the silent-customer workbench and the Process Health Index.

Written by hand (Piccolo cannot express composite or partial indexes), additive, the same
SQL on SQLite and PostgreSQL:

- one PHI snapshot per day and owner:team group, so a rerun of the job updates it;
- transitions by stage and time (the deals that reached solution confirmed in a window) and
  by opportunity and stage (when each of them entered initial contact);
- present attachments by opportunity and material (key-material completeness).
"""

from server.migration_ddl import ddl_migration

ID = "2026-11-27T17:39:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "workbench and PHI indexes"

INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS phi_snapshot_day_group ON phi_snapshot (day, group_key)",
    "CREATE INDEX IF NOT EXISTS stage_transition_reach ON stage_transition (to_stage, at)",
    "CREATE INDEX IF NOT EXISTS stage_transition_opp_stage ON stage_transition (opportunity, to_stage, at)",
    "CREATE INDEX IF NOT EXISTS attachment_present ON attachment (opportunity, material) WHERE status = 'present'",
)


forwards = ddl_migration(ID, DESCRIPTION, INDEXES)
