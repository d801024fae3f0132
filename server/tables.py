"""Piccolo tables. Migrations live in ``piccolo_migrations/``; keep them additive.

Time columns are timestamptz and always written as aware UTC datetimes.
Roles are stored as a delimited string (",rep,manager,") so that a role
filter is a plain LIKE on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


def new_id() -> str:
    return str(uuid.uuid4())


class Team(Table):
    id = UUID(primary_key=True)
    name = Varchar(length=100, unique=True)
    # No foreign key: Team and User point at each other; kept consistent in queries.
    manager_id = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class User(Table, tablename="app_user"):
    id = UUID(primary_key=True)
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=100)
    password_hash = Varchar(length=200)
    roles = Varchar(length=200, default=",rep,")
    team = ForeignKey(Team, null=True, on_delete=OnDelete.set_null)
    manager = ForeignKey("self", null=True, on_delete=OnDelete.set_null)
    phone = Varchar(length=20, null=True, default=None)
    locale = Varchar(length=10, null=True, default=None)
    active = Boolean(default=True, index=True)
    must_change_password = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    disabled_at = Timestamptz(null=True, default=None)


class Customer(Table):
    id = UUID(primary_key=True)
    name = Varchar(length=200)
    phone = Varchar(length=20, null=True, default=None, index=True)
    email = Varchar(length=254, null=True, default=None, index=True)
    company = Varchar(length=200, null=True, default=None)
    title = Varchar(length=100, null=True, default=None)
    owner = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    team = ForeignKey(Team, null=True, on_delete=OnDelete.set_null, index=True)
    source = Varchar(length=40, null=True, default=None)
    last_contact_at = Timestamptz(null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Contact(Table):
    id = UUID(primary_key=True)
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=200)
    phone = Varchar(length=20, null=True, default=None)
    title = Varchar(length=100, null=True, default=None)
    email = Varchar(length=254, null=True, default=None)
    is_key = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Opportunity(Table):
    id = UUID(primary_key=True)
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    title = Varchar(length=200)
    amount = Numeric(digits=(14, 2), null=True, default=None)
    owner = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    team = ForeignKey(Team, null=True, on_delete=OnDelete.set_null, index=True)
    stage = Varchar(length=64, index=True)
    substate = Varchar(length=64, null=True, default=None)
    status = Varchar(length=16, default="open", index=True)  # open / won / lost
    fields = JSON(default="{}")
    lost_reason = Text(null=True, default=None)
    stage_entered_at = Timestamptz(default=TimestamptzNow())
    last_contact_at = Timestamptz(null=True, default=None, index=True)
    last_note_at = Timestamptz(null=True, default=None)
    playbook_version = Varchar(length=64, null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class OpportunityCollaborator(Table):
    id = UUID(primary_key=True)
    opportunity = ForeignKey(Opportunity, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=20, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Activity(Table):
    id = UUID(primary_key=True)
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    opportunity = ForeignKey(Opportunity, null=True, on_delete=OnDelete.set_null, index=True)
    user = ForeignKey(User, on_delete=OnDelete.restrict)
    kind = Varchar(length=20)
    customer_facing = Boolean(default=False)
    note = Text(null=True, default=None)
    occurred_at = Timestamptz(default=TimestamptzNow(), index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class StageTransition(Table):
    """Append-only: rows are inserted, never updated or deleted (triggers enforce it)."""

    id = UUID(primary_key=True)
    opportunity = ForeignKey(Opportunity, on_delete=OnDelete.restrict, index=True)
    user = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    from_stage = Varchar(length=64, null=True, default=None)
    from_substate = Varchar(length=64, null=True, default=None)
    to_stage = Varchar(length=64)
    to_substate = Varchar(length=64, null=True, default=None)
    reason = Text(null=True, default=None)
    override = Boolean(default=False)
    at = Timestamptz(default=TimestamptzNow())


class Attachment(Table):
    id = UUID(primary_key=True)
    opportunity = ForeignKey(Opportunity, null=True, on_delete=OnDelete.restrict, index=True)
    material = Varchar(length=64, null=True, default=None)
    filename = Varchar(length=255)
    content_type = Varchar(length=100)
    size = Integer(default=0)
    sha256 = Varchar(length=64, null=True, default=None)
    object_key = Varchar(length=255, unique=True)
    status = Varchar(length=16, default="pending", index=True)  # pending / present / missing
    uploaded_by = ForeignKey(User, on_delete=OnDelete.restrict)
    created_at = Timestamptz(default=TimestamptzNow())
    checked_at = Timestamptz(null=True, default=None)


class AuditLog(Table):
    """Append-only."""

    id = UUID(primary_key=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor_id = UUID(null=True, default=None)
    action = Varchar(length=64, index=True)
    target_type = Varchar(length=40, null=True, default=None)
    target_id = Varchar(length=64, null=True, default=None)
    detail = JSON(default="{}")
    ip = Varchar(length=64, null=True, default=None)


class IdempotencyKey(Table):
    id = UUID(primary_key=True)
    # user id (or "anon") + ":" + client key; unique, so two racing requests
    # cannot both claim it.
    scope_key = Varchar(length=200, unique=True)
    method = Varchar(length=10)
    path = Varchar(length=500)
    body_hash = Varchar(length=64)
    status_code = Integer(null=True, default=None)  # null while the first request runs
    response_body = Text(null=True, default=None)
    content_type = Varchar(length=100, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True)


class ApiToken(Table):
    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class Session(Table, tablename="user_session"):
    id = UUID(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    csrf_token = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    ip = Varchar(length=64, null=True, default=None)
    user_agent = Varchar(length=300, null=True, default=None)


class LoginAttempt(Table):
    id = UUID(primary_key=True)
    username = Varchar(length=64, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    success = Boolean(default=False)
    ip = Varchar(length=64, null=True, default=None)


ALL_TABLES: list[type[Table]] = [
    Team,
    User,
    Customer,
    Contact,
    Opportunity,
    OpportunityCollaborator,
    Activity,
    StageTransition,
    Attachment,
    AuditLog,
    IdempotencyKey,
    ApiToken,
    Session,
    LoginAttempt,
]
