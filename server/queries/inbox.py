"""The in-app inbox: every alert a user received, whatever happened to its push; and the words of an alert."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from server import i18n
from server.db import write_transaction
from server.domain.access import Viewer
from server.domain.playbook import Playbook
from server.errors import ApiError
from server.queries.common import utcnow
from server.queries.opp_facts import fields_of
from server.schemas_alerts import InboxItemOut, InboxPage
from server.tables import InboxItem

PAGE_SIZE = 50
PUSH_BODY_LIMIT = 300

# What a rendered alert needs, read through the inbox item's foreign keys.
COLUMNS = (InboxItem.id, InboxItem.created_at, InboxItem.read_at, InboxItem.alert.id, InboxItem.alert.kind,
           InboxItem.alert.node_key, InboxItem.alert.level, InboxItem.alert.params, InboxItem.alert.urgent,
           InboxItem.alert.closed_at, InboxItem.alert.opportunity, InboxItem.alert.opportunity.title,
           InboxItem.alert.opportunity.customer.name, InboxItem.alert.instance.due_at)


def N_(message: str) -> str:
    """Marks a message for extraction (pybabel's default keywords); translated later, per recipient."""
    return message


def _t(locale: str, message: str, **values) -> str:
    return i18n.translate(locale, message) % values


def _when(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%m-%d %H:%M") if value else "—"


def render(row: dict, pb: Playbook, tz: ZoneInfo, locale: str) -> tuple[str, str, str]:
    """(title, body, url) of an inbox row in a locale."""
    kind = row["alert.kind"]
    params = fields_of(row["alert.params"])
    node = pb.node(row["alert.node_key"] or "")
    node_name = node.name.pick(locale) if node else (row["alert.node_key"] or "")
    deal = " · ".join(x for x in (row.get("alert.opportunity.customer.name"), row.get("alert.opportunity.title")) if x)
    url = f"/opportunities/{row['alert.opportunity']}" if row["alert.opportunity"] else "/inbox"
    due = _when(row.get("alert.instance.due_at"), tz)
    if kind == "overdue":
        return (_t(locale, N_("Overdue: %(node)s"), node=node_name),
                _t(locale, N_("%(deal)s — was due %(due)s."), deal=deal, due=due), url)
    if kind == "escalation":
        return (_t(locale, N_("Escalated: %(node)s"), node=node_name),
                _t(locale, N_("%(deal)s — still not done; it was due %(due)s."), deal=deal, due=due), url)
    if kind == "gate_blocked":
        return (_t(locale, N_("Advance blocked: %(deal)s"), deal=deal),
                _t(locale, N_("%(who)s tried to advance it; %(count)s required item(s) are missing: %(items)s."),
                   who=params.get("by", ""), count=len(params.get("items", [])),
                   items=", ".join(_item_name(pb, i, locale) for i in params.get("items", [])[:6])), url)
    if kind == "support":
        return (_t(locale, N_("Support request from %(who)s"), who=params.get("by", "")),
                str(params.get("text", "")), "/checkin")
    if kind == "silent_digest":
        return (_t(locale, N_("%(count)s customers went silent"), count=params.get("count", 0)),
                _t(locale, N_("Call them from the workbench, or snooze the ones that may stay quiet.")), "/workbench")
    if kind == "test":
        return (_t(locale, N_("Salesgate test notification")),
                _t(locale, N_("Notifications reach this device.")), "/me")
    return params.get("title", kind), params.get("body", ""), params.get("url", url)


def _item_name(pb: Playbook, item: dict, locale: str) -> str:
    key = item.get("material") or item.get("field") or item.get("node", "")
    for _, node in pb.nodes:
        for material in node.materials:
            if material.key == key:
                return material.name.pick(locale)
    field = next((f for f in pb.fields if f.key == key), None)
    if field is not None:
        return field.name.pick(locale)
    node = pb.node(key)
    return node.name.pick(locale) if node else key


def _out(row: dict, pb: Playbook, tz: ZoneInfo, locale: str) -> InboxItemOut:
    title, body, url = render(row, pb, tz, locale)
    return InboxItemOut(id=str(row["id"]), kind=row["alert.kind"], title=title, body=body, url=url,
                        created_at=row["created_at"], read=row["read_at"] is not None,
                        closed=row["alert.closed_at"] is not None, urgent=bool(row["alert.urgent"]))


async def unread_count(user_id) -> int:
    return await InboxItem.count().where((InboxItem.user == user_id) & InboxItem.read_at.is_null()).run()


async def list_inbox(viewer: Viewer, pb: Playbook, tz: ZoneInfo, locale: str, before: str | None = None,
                     limit: int = PAGE_SIZE) -> InboxPage:
    query = InboxItem.select(*COLUMNS).where(InboxItem.user == viewer.id)
    if before:
        query = query.where(InboxItem.id < _item_id(before))
    rows = await query.order_by(InboxItem.id, ascending=False).limit(limit + 1).run()
    nxt = str(rows[limit - 1]["id"]) if len(rows) > limit else None
    return InboxPage(items=[_out(r, pb, tz, locale) for r in rows[:limit]], unread=await unread_count(viewer.id),
                     next=nxt)


def _item_id(value: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError(404, "not_found", "No such inbox item.") from None
    if not 0 < number < 2**63:
        raise ApiError(404, "not_found", "No such inbox item.")
    return number


async def mark_read(viewer: Viewer, item_id: str | None) -> int:
    """Mark one item (or, with None, every item) read. Someone else's item is 404."""
    where = (InboxItem.user == viewer.id) & InboxItem.read_at.is_null()
    if item_id is not None:
        number = _item_id(item_id)
        mine = await InboxItem.exists().where((InboxItem.id == number) & (InboxItem.user == viewer.id)).run()
        if not mine:
            raise ApiError(404, "not_found", "No such inbox item.")
        where = where & (InboxItem.id == number)
    async with write_transaction():
        await InboxItem.update({InboxItem.read_at: utcnow()}).where(where).run()
    return await unread_count(viewer.id)
