"""The deals behind each PHI number (the drill-down), and the daily snapshot of the stock counts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.db import write_transaction
from server.domain import phi, silence
from server.domain.access import Viewer
from server.domain.playbook import Playbook
from server.errors import ApiError
from server.queries import phi_sql
from server.queries.insight_sql import as_datetime, as_float
from server.queries.phi import partials, where_for
from server.schemas_insight import PhiOpportunity, PhiOpportunityPage
from server.tables import PhiSnapshot

LIMIT = 200
SNAPSHOT_EVERY = timedelta(hours=1)


def _base(row: dict, counted: bool) -> dict:
    return dict(opportunity_id=str(row["id"]), title=row["title"], customer_id=str(row["customer_id"]),
                customer_name=row["customer_name"], owner_id=str(row["owner_id"]), owner_name=row["owner_name"],
                stage=row["stage"], substate=row["substate"], amount=as_float(row["amount"]), counted=counted)


async def behind(viewer: Viewer, metric: str, scope_name: str, team_id: str | None, pb: Playbook, tz: ZoneInfo,
                 now: datetime, start: date | None = None, end: date | None = None,
                 limit: int = LIMIT) -> PhiOpportunityPage:
    """The deals a number is computed from; `counted` marks those that pull it away from healthy.
    Transitions are those of the window; completeness and silence are as of now."""
    try:
        frm, to = phi.window(now, tz, start, end)
    except phi.WindowError as exc:
        raise ApiError(422, "invalid_window", str(exc)) from None
    where = await where_for(viewer, scope_name, team_id, listing=True)
    flow = metric == "stage_transition_days"  # a list needs only its own number's counts
    p = phi.total((await partials(pb, where, frm, to, now, tz, stocks_live=not flow, flows=flow))[0].values())
    v = phi.values_of(p)
    th = pb.phi
    if metric == "stage_transition_days":
        rows = await phi_sql.transition_list(pb, where, frm, to, limit)
        items = [PhiOpportunity(**_base(r, float(r["days"]) > th.stage_transition_days),
                                days=round(float(r["days"]), 2), started_at=as_datetime(r["started_at"]),
                                reached_at=as_datetime(r["reached_at"])) for r in rows]
        numbers = (v.stage_transition_days, th.stage_transition_days, round(p.transition_days, 2), p.transitions,
                   p.transitions)
    elif metric == "material_completeness":
        items, deals = await _completeness_items(pb, where, limit)
        numbers = (v.material_completeness, th.material_completeness, p.present, p.required, deals)
    else:
        rows = await phi_sql.silence_list(pb, where, now, limit)
        items = [PhiOpportunity(**_base(r, bool(r["silent"])),
                                days_silent=silence.days_silent(as_datetime(r["basis"]), now),
                                threshold_days=silence.threshold_days(pb, r["stage"]),
                                last_contact_at=as_datetime(r["last_contact_at"])) for r in rows]
        numbers = (v.silent_rate, th.silent_rate, p.silent, p.open, p.open)
    value, threshold, numerator, denominator, count = numbers
    return PhiOpportunityPage(metric=metric, scope=scope_name,  # type: ignore[arg-type]
                              value=value, threshold=threshold,
                              numerator=numerator, denominator=denominator, items=items, total=count)


async def _completeness_items(pb: Playbook, where, limit: int) -> tuple[list[PhiOpportunity], int]:
    rows = await phi_sql.completeness_list(pb, where, limit)
    present: dict[str, set[str]] = {}
    for r in await phi_sql.present_materials([r["id"] for r in rows]):
        present.setdefault(str(r["opp"]), set()).add(r["material"])
    needs: dict[tuple[str, str], list[str]] = {}
    for stage, substate, material in phi.required_materials(pb):
        needs.setdefault((stage, substate), []).append(material)
    items = []
    for r in rows:
        required = needs.get((r["stage"], r["substate"] or ""), [])
        missing = [m for m in required if m not in present.get(str(r["id"]), set())]
        items.append(PhiOpportunity(**_base(r, bool(missing)), required=required, missing=missing))
    return items, int(rows[0]["deals"]) if rows else 0


# ---------------------------------------------------------------- daily snapshots

async def record_snapshot(pb: Playbook, tz: ZoneInfo, now: datetime) -> int | None:
    """Write today's stock counts per owner and team (None: done less than an hour ago). Idempotent:
    one row per day and group (a unique index), updated by a rerun; groups gone since are removed."""
    today = silence.local_today(now, tz)
    recent = await PhiSnapshot.exists().where(
        (PhiSnapshot.day == today) & (PhiSnapshot.computed_at > now - SNAPSHOT_EVERY)).run()
    if recent:
        return None
    groups, _ = await partials(pb, None, now, now, now, tz, flows=False)
    rows = [PhiSnapshot(day=today, owner=owner, team=team, group_key=f"{owner}:{team or ''}", required=p.required,
                        present=p.present, open=p.open, silent=p.silent, computed_at=now)
            for (owner, team), p in groups.items()]
    async with write_transaction():
        stale = PhiSnapshot.day == today
        if rows:
            stale = stale & PhiSnapshot.group_key.not_in([r.group_key for r in rows])
            await PhiSnapshot.insert(*rows).on_conflict(
                target=(PhiSnapshot.day, PhiSnapshot.group_key), action="DO UPDATE",
                values=[PhiSnapshot.required, PhiSnapshot.present, PhiSnapshot.open, PhiSnapshot.silent,
                        PhiSnapshot.computed_at]).run()
        await PhiSnapshot.delete().where(stale).run()
    return len(rows)

