"""Piccolo tables. Migrations live in ``piccolo_migrations/``; keep them additive.

Time columns are timestamptz and always written as aware UTC datetimes.
Roles are stored as a delimited string (",rep,manager,") so that a role
filter is a plain LIKE on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid

from piccolo.columns import (
    JSON,
    Serial,
    UUID,
    Boolean,
    Date,
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


class CustomerSnooze(Table):
    """A silent customer taken off the workbench until a day (inclusive, organisation time zone).

    One row per customer: a new snooze replaces the last one; the audit log keeps the history.
    """

    id = UUID(primary_key=True)
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, unique=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade)
    reason = Varchar(length=200)
    until = Date()
    created_at = Timestamptz(default=TimestamptzNow())


class PhiSnapshot(Table):
    """The PHI stock counts of one owner and team on one local day (the phi_snapshot job).

    Completeness and silence are states, not events: the weekly trend reads them from here.
    ``group_key`` is "owner:team", unique with ``day`` (hand-written index), so a rerun updates.
    """

    id = Serial(primary_key=True)
    day = Date()
    owner = UUID()
    team = UUID(null=True, default=None)
    group_key = Varchar(length=80)
    required = Integer(default=0)
    present = Integer(default=0)
    open = Integer(default=0)
    silent = Integer(default=0)
    computed_at = Timestamptz(default=TimestamptzNow())


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
    # Every change to what the deadlines depend on (stage, fields, materials, contacts,
    # notes) bumps facts_rev; the deadline job re-plans the node clocks of each
    # opportunity whose clock_rev lags behind, then records the rev it planned from.
    facts_rev = Integer(default=1)
    clock_rev = Integer(default=0)


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
    playbook_version = Integer(null=True, default=None)  # the published version that judged the move


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


class PlaybookVersion(Table):
    """A playbook document: drafts (edited in the admin screens) and published versions (kept).

    The active playbook is the published row with the highest ``number``; restoring an old version
    publishes a copy of it under a new number, so history only grows. ``body`` is the YAML text
    (the file format stays the source of truth); ``sha256`` of a file import lets the app tell
    whether the playbook file changed since it was last imported.
    """

    id = Serial(primary_key=True)
    number = Integer(null=True, default=None, unique=True)  # set when published
    status = Varchar(length=12, default="draft", index=True)  # draft / published
    label = Varchar(length=64)  # the document's own ``version`` string
    body = Text()
    sha256 = Varchar(length=64)
    source = Varchar(length=12, default="editor")  # file / editor / import / restore
    based_on = Integer(null=True, default=None)  # the version number a draft started from
    note = Text(null=True, default=None)
    created_by = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    published_by = UUID(null=True, default=None)
    published_at = Timestamptz(null=True, default=None)


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


# --- Alerts: node clocks, alerts, inbox, push, chat webhooks, job leases -------------


class NodeInstance(Table):
    """One deadline period of one node of one opportunity: open until done or left.

    ``anchor_at`` is when its clock started (stage entry, or the last customer
    contact / owner note the node counts from); a new anchor is a new instance,
    so a rep who writes a note and then goes quiet again is reminded again.
    """

    id = Serial(primary_key=True)
    opportunity = ForeignKey(Opportunity, on_delete=OnDelete.cascade, index=True)
    node_key = Varchar(length=64)
    stage = Varchar(length=64)
    anchor_at = Timestamptz()
    due_at = Timestamptz(null=True, default=None)
    status = Varchar(length=16, default="open", index=True)  # open / done / left
    urgent = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    closed_at = Timestamptz(null=True, default=None)


class NodeAlarm(Table):
    """When a level of an instance fires and whom it tells; rewritten whenever the opportunity changes."""

    id = Serial(primary_key=True)
    instance = ForeignKey(NodeInstance, on_delete=OnDelete.cascade, index=True)
    level = Integer(default=0)
    fire_at = Timestamptz()
    recipient = UUID()
    relation = Varchar(length=80)
    alert_key = Varchar(length=120)
    fired_tick = Varchar(length=40, null=True, default=None, index=True)


class Alert(Table):
    """Something a person must act on. ``key`` is unique: a rerun or a second worker adds nothing."""

    id = Serial(primary_key=True)
    key = Varchar(length=160, unique=True)
    kind = Varchar(length=32)  # overdue / escalation / gate_blocked / test / ...
    opportunity = ForeignKey(Opportunity, null=True, on_delete=OnDelete.cascade, index=True)
    instance = ForeignKey(NodeInstance, null=True, on_delete=OnDelete.cascade, index=True)
    node_key = Varchar(length=64, null=True, default=None)
    level = Integer(default=0)
    urgent = Boolean(default=False)
    params = JSON(default="{}")
    tick = Varchar(length=40, null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    closed_at = Timestamptz(null=True, default=None)


class InboxItem(Table):
    id = Serial(primary_key=True)
    alert = ForeignKey(Alert, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    tick = Varchar(length=40, null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    read_at = Timestamptz(null=True, default=None)


class PushSubscription(Table):
    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    endpoint = Varchar(length=1000, unique=True)
    p256dh = Varchar(length=200)
    auth = Varchar(length=100)
    locale = Varchar(length=10, default="zh_CN")
    device = Varchar(length=200, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    last_sent_at = Timestamptz(null=True, default=None)


class PushOutbox(Table):
    """One push of one inbox item to one device; written in the alert's transaction."""

    id = Serial(primary_key=True)
    inbox_item = ForeignKey(InboxItem, on_delete=OnDelete.cascade, index=True)
    subscription = ForeignKey(PushSubscription, on_delete=OnDelete.cascade, index=True)
    status = Varchar(length=16, default="pending")  # pending / sent / gone / failed / cancelled
    not_before = Timestamptz()
    attempts = Integer(default=0)
    claim = Varchar(length=40, null=True, default=None)
    claimed_until = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    last_error = Varchar(length=300, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class TeamWebhook(Table):
    """A team's DingTalk or WeCom group robot."""

    id = UUID(primary_key=True)
    team = ForeignKey(Team, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=16)  # dingtalk / wecom
    url = Varchar(length=1000)
    secret = Varchar(length=200, null=True, default=None)
    enabled = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookOutbox(Table):
    id = Serial(primary_key=True)
    webhook = ForeignKey(TeamWebhook, on_delete=OnDelete.cascade, index=True)
    alert = ForeignKey(Alert, on_delete=OnDelete.cascade)
    status = Varchar(length=16, default="pending")  # pending / sent / failed
    not_before = Timestamptz()
    message = Integer(null=True, default=None)  # the WebhookMessage that carried it
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookMessage(Table):
    """One message sent to a robot (a single alert or a digest): the 20-a-minute budget counts these."""

    id = Serial(primary_key=True)
    webhook = ForeignKey(TeamWebhook, on_delete=OnDelete.cascade, index=True)
    sent_at = Timestamptz(index=True)
    items = Integer(default=1)
    ok = Boolean(default=True)
    status_line = Varchar(length=300, null=True, default=None)


class JobLease(Table):
    """On SQLite one scheduler at a time holds the lease."""

    id = Serial(primary_key=True)
    name = Varchar(length=64, unique=True)
    holder = Varchar(length=80)
    expires_at = Timestamptz()


# --- Collaboration: micro-contributions and the daily check-in -------------------------


class Contribution(Table):
    """A colleague's piece of work on an opportunity (a POC, a demo, a contract review…)."""

    id = UUID(primary_key=True)
    opportunity = ForeignKey(Opportunity, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    role = Varchar(length=32)  # the contributor's role when it was made: presales, delivery, …
    kind = Varchar(length=64)
    note = Varchar(length=500)
    stage = Varchar(length=64)  # the opportunity's stage when it was made
    attachment = ForeignKey(Attachment, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class Checkin(Table):
    """A user's daily "three things": done today, to close tomorrow, support needed (one per local day)."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    day = Date(index=True)
    done = JSON(default="[]")
    tomorrow = JSON(default="[]")
    support = JSON(default="[]")  # [{"user_id", "text"}]
    attachments = JSON(default="[]")  # attachment ids (screenshots)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class BoardPin(Table):
    """A key account a manager pinned to a team's board (at most MAX_PINS per team; unique per team)."""

    id = Serial(primary_key=True)
    team = ForeignKey(Team, on_delete=OnDelete.cascade, index=True)
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    position = Integer(default=0)
    pinned_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    pinned_at = Timestamptz(default=TimestamptzNow())


ALL_TABLES: list[type[Table]] = [
    Team,
    User,
    Customer,
    Contact,
    CustomerSnooze,
    PhiSnapshot,
    Opportunity,
    OpportunityCollaborator,
    Activity,
    StageTransition,
    Attachment,
    AuditLog,
    PlaybookVersion,
    IdempotencyKey,
    ApiToken,
    Session,
    LoginAttempt,
    NodeInstance,
    NodeAlarm,
    Alert,
    InboxItem,
    PushSubscription,
    PushOutbox,
    TeamWebhook,
    WebhookOutbox,
    WebhookMessage,
    JobLease,
    Contribution,
    Checkin,
    BoardPin,
]
