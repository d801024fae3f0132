"""When a node's clock fires, whom it tells, and when a push may go out. Pure: `now` is a parameter.

An opportunity's *open nodes* are the nodes of its current stage (and, in a stage
with substates, of its current substate) that are not complete. Each open node
with a deadline has one clock: its anchor (stage entry, last customer contact or
last owner note), its due time, and one alarm per escalation level and recipient.
The deadline job turns alarms that are due into alerts; the query layer rewrites
the alarms whenever the opportunity changes, and completing the node removes them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from server.domain.gates import OppFacts, node_complete, node_due
from server.domain.playbook import Node, Playbook


class Clock(msgspec.Struct, frozen=True, kw_only=True):
    node_key: str
    stage: str
    anchor_at: datetime
    due_at: datetime | None
    urgent: bool


class Alarm(msgspec.Struct, frozen=True, kw_only=True):
    level: int
    fire_at: datetime
    recipient: str
    relation: str


def nodes_in_play(pb: Playbook, facts: OppFacts) -> list[Node]:
    """The nodes of the current stage (and substate) — done or not. None in a won or lost stage."""
    stage = pb.stage(facts.stage)
    if stage is None or stage.terminal is not None:
        return []
    if not stage.substates:
        return list(stage.nodes)
    return [n for n in stage.nodes if n.substate in (None, facts.substate)]


def anchor_of(node: Node, facts: OppFacts) -> datetime:
    """When this node's clock started: stage entry, or a later contact / owner note it counts from."""
    anchor = facts.stage_entered_at
    basis = node.deadline.from_ if node.deadline else "stage_entry"
    if basis == "last_customer_contact" and facts.last_contact_at:
        anchor = max(anchor, facts.last_contact_at)
    elif basis == "last_owner_note" and facts.last_note_at:
        anchor = max(anchor, facts.last_note_at)
    return anchor


def open_clocks(pb: Playbook, facts: OppFacts, tz: ZoneInfo) -> list[Clock]:
    """One clock per node in play that is not complete yet."""
    return [Clock(node_key=n.key, stage=facts.stage, anchor_at=anchor_of(n, facts), due_at=node_due(n, facts, tz),
                  urgent=n.urgent)
            for n in nodes_in_play(pb, facts) if not node_complete(n, facts)]


def _targets(node: Node, notify: str) -> list[str]:
    """An escalation target (executor, supervisor, supervisor.manager, collaborators) as relations."""
    if notify == "executor":
        return [node.executor]
    if notify == "supervisor":
        return [node.supervisor]
    if notify == "collaborators":
        return list(node.collaborators)
    # supervisor.manager: one level above the supervisor along the owner's reporting line
    return {"owner": ["owner.manager"], "owner.manager": ["owner.manager.manager"]}.get(
        node.supervisor, ["owner.manager.manager"])


def alarms_for(node: Node, due: datetime | None, who: dict[str, str | None]) -> list[Alarm]:
    """Every (level, recipient) alarm of a node due at `due`. No deadline, no alarms.

    Without escalation steps the executor is told at the deadline. A relation
    nobody fills (no manager, no legal colleague in the team) is skipped; the
    supervisor sees the gap on the opportunity page.
    """
    if due is None:
        return []
    steps = [(s.after_hours, s.notify) for s in node.escalation] or [(0.0, ["executor"])]
    out: list[Alarm] = []
    for level, (after_hours, notify) in enumerate(steps):
        seen: set[str] = set()
        for target in notify:
            for relation in _targets(node, target):
                user = who.get(relation)
                if user and user not in seen:
                    seen.add(user)
                    out.append(Alarm(level=level, fire_at=due + timedelta(hours=after_hours), recipient=user,
                                     relation=relation))
    return out


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """'22:00-08:00' → (22:00, 08:00); '' or 'off' → None. Raises ValueError with a sentence."""
    text = text.strip().lower()
    if text in ("", "off", "none"):
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError(f"quiet hours must look like 22:00-08:00, not {text!r}") from None
    if start == end:
        raise ValueError("quiet hours must start and end at different times")
    return start, end


def quiet_until(now: datetime, tz: ZoneInfo, quiet: tuple[time, time] | None) -> datetime:
    """`now` when a non-urgent push may go now; otherwise the end of the quiet period (aware, in `tz`)."""
    if quiet is None:
        return now
    start, end = quiet
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    overnight = start > end
    inside = (clock >= start or clock < end) if overnight else (start <= clock < end)
    if not inside:
        return now
    day = local.date() if (not overnight or clock < end) else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz)


def push_topic(alert_id: int) -> str:
    """The Web Push `Topic` header (≤ 32 URL-safe characters): a newer push replaces an undelivered one."""
    return f"alert-{alert_id}"


def retry_delay(attempts: int, retry_after: float | None) -> timedelta:
    """Back-off after a 429 or 5xx: the push service's Retry-After when given, else 30 s doubling, ≤ 1 h."""
    backoff = min(30 * 2 ** max(attempts - 1, 0), 3600)
    if retry_after is not None:
        backoff = max(min(retry_after, 6 * 3600), 1)
    return timedelta(seconds=backoff)


def endpoint_problem(endpoint: str, allowed_hosts: tuple[str, ...]) -> str | None:
    """Why a push endpoint (or a chat robot URL) is refused, or None when it may be used.

    Only the listed hosts are accepted (a leading `*.` matches subdomains), so the
    server never becomes a relay to arbitrary addresses; an IP literal must be
    listed as it is. HTTPS is required except for a listed loopback address (tests).
    """
    import ipaddress
    from urllib.parse import urlsplit

    try:
        url = urlsplit(endpoint.strip())
        host = (url.hostname or "").lower()
        url.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "The push endpoint is not a valid URL."
    if url.scheme not in ("https", "http") or not host:
        return "The push endpoint must be an https:// URL."
    if url.username or url.password:
        return "The push endpoint must not carry a user name or password."
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    listed = host in allowed_hosts or (literal is None and any(
        h.startswith("*.") and host.endswith(h[1:]) for h in allowed_hosts))
    if not listed:
        return f"Push endpoints on {host} are not accepted here; allowed hosts: {', '.join(allowed_hosts)}."
    if url.scheme == "http" and not (literal is not None and literal.is_loopback):
        return "The push endpoint must be an https:// URL."
    return None
