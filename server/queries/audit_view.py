"""Reading the audit log: filtered pages (newest first) and a streamed CSV export for Excel."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, tzinfo

import msgspec
from piccolo.columns.combination import Or

from server import i18n
from server.queries.common import decode_cursor, encode_cursor, sid
from server.schemas_admin import AuditEntryOut, AuditPage
from server.tables import AuditLog, Customer, Opportunity, Team, User

PAGE_SIZE = 50
EXPORT_BATCH = 500


def N_(message: str) -> str:
    return message


ACTION_LABELS = {
    "login": N_("Logged in"),
    "login.failed": N_("Failed login"),
    "logout": N_("Logged out"),
    "token.create": N_("API token created"),
    "password.change": N_("Password changed"),
    "password.change_failed": N_("Password change refused (wrong current password)"),
    "user.create": N_("User created"),
    "user.update": N_("User edited"),
    "user.roles": N_("Roles changed"),
    "user.disable": N_("User disabled"),
    "user.enable": N_("User enabled"),
    "user.password_reset": N_("Password reset by an admin"),
    "user.import": N_("Users imported"),
    "customer.reassign": N_("Customer reassigned"),
    "opportunity.reassign": N_("Opportunity reassigned"),
    "team.create": N_("Team created"),
    "team.update": N_("Team edited"),
    "team.webhook": N_("Team chat robot configured"),
    "gate.override": N_("Gate overridden"),
    "gate.blocked": N_("Advance blocked by a gate"),
    "opportunity.create": N_("Opportunity created"),
    "opportunity.update": N_("Opportunity edited"),
    "customer.create": N_("Customer created"),
    "lead.scan": N_("Badge scanned"),
    "attachment.upload": N_("File uploaded"),
    "contribution.add": N_("Contribution recorded"),
    "audit.export": N_("Audit log exported"),
    "playbook.draft_created": N_("Playbook draft started"),
    "playbook.draft_saved": N_("Playbook draft saved"),
    "playbook.draft_deleted": N_("Playbook draft deleted"),
    "playbook.publish": N_("Playbook version published"),
    "playbook.restore": N_("Playbook version restored"),
    "playbook.export": N_("Playbook exported"),
    "demo.load": N_("Demo data loaded"),
}

CSV_HEADERS = (N_("Time"), N_("Actor"), N_("Actor ID"), N_("Action"), N_("Action code"), N_("Object type"),
               N_("Object"), N_("Object ID"), N_("Details"), N_("IP address"))


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive


def action_label(action: str, locale: str) -> str:
    label = ACTION_LABELS.get(action)
    return i18n.translate(locale, label) if label else action


async def _user_ids(text: str) -> list[str]:
    """A user named by id or username: the ids it may mean."""
    ids = []
    try:
        ids.append(str(uuid.UUID(text)))
    except ValueError:
        pass
    rows = await User.select(User.id).where(User.username == text).run()
    return ids + [str(r["id"]) for r in rows]


async def _query(query, f: AuditFilter):
    """The query narrowed by the filter, or None when it can match nothing."""
    if f.actor:
        ids = await _user_ids(f.actor.strip())
        if not ids:
            return None
        query = query.where(AuditLog.actor_id.is_in([uuid.UUID(i) for i in ids]))
    if f.action:
        action = f.action.strip()
        if action.endswith(("*", ".")):
            query = query.where(AuditLog.action.like(action.rstrip("*").replace("%", "") + "%"))
        else:
            query = query.where(AuditLog.action == action)
    if f.target:
        text = f.target.strip()
        query = query.where(AuditLog.target_id.is_in(list(dict.fromkeys([text, *await _user_ids(text)]))))
    if f.since:
        query = query.where(AuditLog.at >= f.since)
    if f.until:
        query = query.where(AuditLog.at < f.until)
    return query


async def _page_rows(f: AuditFilter, cursor: str | None, limit: int) -> list[dict]:
    query = await _query(AuditLog.select().order_by(AuditLog.at, ascending=False).order_by(
        AuditLog.id, ascending=False).limit(limit), f)
    if query is None:
        return []
    if cursor:
        at, last_id = decode_cursor(cursor, 2)
        try:
            at, last_id = datetime.fromisoformat(at), uuid.UUID(last_id)
        except (TypeError, ValueError):
            decode_cursor("", 2)  # the same "invalid cursor" answer
        query = query.where(Or(AuditLog.at < at, (AuditLog.at == at) & (AuditLog.id < last_id)))
    return await query.run()


async def _names(rows: list[dict]) -> dict[str, str]:
    """Display names of the actors and targets that are users, teams, customers or opportunities."""
    wanted: dict[str, set] = {"user": set(), "team": set(), "customer": set(), "opportunity": set()}
    for r in rows:
        if r["actor_id"]:
            wanted["user"].add(str(r["actor_id"]))
        if r["target_type"] in wanted and r["target_id"]:
            wanted[r["target_type"]].add(r["target_id"])
    names: dict[str, str] = {}
    for kind, table, column in (("user", User, User.display_name), ("team", Team, Team.name),
                                ("customer", Customer, Customer.name), ("opportunity", Opportunity, Opportunity.title)):
        ids = []
        for value in wanted[kind]:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                continue
        if ids:
            for r in await table.select(table.id, column).where(table.id.is_in(ids)).run():
                names[str(r["id"])] = r[column._meta.name]
    return names


def _entry(row: dict, names: dict[str, str], locale: str) -> AuditEntryOut:
    detail = row["detail"]
    if isinstance(detail, str):
        try:
            detail = json.loads(detail or "{}")
        except ValueError:
            detail = {"text": detail}
    return AuditEntryOut(
        id=str(row["id"]), at=row["at"], actor_id=sid(row["actor_id"]), actor_name=names.get(str(row["actor_id"])),
        action=row["action"], action_label=action_label(row["action"], locale), target_type=row["target_type"],
        target_id=row["target_id"], target_name=names.get(row["target_id"] or ""),
        detail=detail if isinstance(detail, dict) else {"value": detail}, ip=row["ip"])


async def audit_page(f: AuditFilter, cursor: str | None, limit: int, locale: str) -> AuditPage:
    rows = await _page_rows(f, cursor, limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    names = await _names(rows)
    last = rows[-1] if rows else None
    return AuditPage(items=[_entry(r, names, locale) for r in rows],
                     next=encode_cursor(last["at"], str(last["id"])) if more and last else None)


def _safe(value) -> str:
    """A cell Excel shows as text, never runs as a formula (a failed login's username is anyone's input)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def export_csv(f: AuditFilter, tz: tzinfo, locale: str) -> AsyncIterator[bytes]:
    """The whole filtered log as CSV in UTF-8 with a BOM (so Excel reads the Chinese), newest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([i18n.translate(locale, h) for h in CSV_HEADERS])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    cursor = None
    while True:
        page = await audit_page(f, cursor, EXPORT_BATCH, locale)
        buffer.seek(0)
        buffer.truncate()
        for e in page.items:
            writer.writerow([_safe(x) for x in (
                e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), e.actor_name, e.actor_id, e.action_label, e.action,
                e.target_type, e.target_name, e.target_id, json.dumps(e.detail, ensure_ascii=False, sort_keys=True),
                e.ip)])
        if page.items:
            yield buffer.getvalue().encode("utf-8")
        if not page.next:
            return
        cursor = page.next


async def known_actions() -> list[str]:
    rows = await AuditLog.select(AuditLog.action).distinct().order_by(AuditLog.action).run()
    return sorted({r["action"] for r in rows} | set(ACTION_LABELS))
