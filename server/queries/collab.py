"""Contributions of colleagues to opportunities, their heat maps, and the daily three-things check-in."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.db import write_transaction
from server.domain.access import Viewer, roles_from_db
from server.domain.alerts import quiet_until
from server.domain.contributions import HeatCell, contributor_role, heat
from server.domain.playbook import Playbook
from server.errors import ApiError
from server.queries import alerting, audit
from server.queries.attachments import visible_opportunity
from server.queries.common import parse_id, sid, utcnow
from server.queries.opp_facts import list_of
from server.schemas_collab import (
    CheckinIn,
    CheckinOut,
    ContributionIn,
    ContributionList,
    ContributionOut,
    HeatOut,
    SupportOut,
    TeamCheckins,
)
from server.tables import Attachment, Checkin, Contribution, Opportunity, User


def _kind_name(pb: Playbook, key: str, locale: str) -> str:
    kind = next((k for k in pb.contribution_kinds if k.key == key), None)
    return kind.name.pick(locale) if kind else key


def _contribution_out(row: dict, pb: Playbook, locale: str) -> ContributionOut:
    return ContributionOut(id=str(row["id"]), opportunity_id=str(row["opportunity"]), user_id=str(row["user"]),
                           user_name=row.get("user.display_name"), role=row["role"], kind=row["kind"],
                           kind_name=_kind_name(pb, row["kind"], locale), note=row["note"], stage=row["stage"],
                           attachment_id=sid(row["attachment"]), created_at=row["created_at"])


async def _own_evidence(viewer: Viewer, attachment_id: str) -> object:
    """An evidence file the viewer uploaded (a screenshot), or 422 with a sentence."""
    row = await Attachment.select(Attachment.id, Attachment.uploaded_by, Attachment.material, Attachment.status).where(
        Attachment.id == parse_id(attachment_id, "attachment")).first().run()
    if row is None or str(row["uploaded_by"]) != viewer.id or row["material"] != "evidence" \
            or row["status"] != "present":
        raise ApiError(422, "invalid_attachment", "Attach a screenshot you uploaded yourself (POST /api/v1/evidence).")
    return row["id"]


async def add_contribution(viewer: Viewer, opp_id: str, data: ContributionIn, pb: Playbook,
                           locale: str) -> ContributionOut:
    opp = await visible_opportunity(viewer, opp_id)
    if not any(k.key == data.kind for k in pb.contribution_kinds):
        known = ", ".join(k.key for k in pb.contribution_kinds)
        raise ApiError(422, "unknown_kind", f"Unknown contribution kind {data.kind!r}; the playbook names {known}.")
    attachment = await _own_evidence(viewer, data.attachment_id) if data.attachment_id else None
    stage = await Opportunity.select(Opportunity.stage).where(Opportunity.id == opp["id"]).first().run()
    row = Contribution(opportunity=opp["id"], user=viewer.id, role=contributor_role(viewer.roles), kind=data.kind,
                       note=data.note.strip(), stage=stage["stage"], attachment=attachment, created_at=utcnow())
    async with write_transaction():
        await Contribution.insert(row).run()
        await audit.record("contribution.add", actor_id=viewer.id, target_type="opportunity", target_id=opp["id"],
                           detail={"kind": data.kind})
    saved = await Contribution.select(*Contribution.all_columns(), Contribution.user.display_name).where(
        Contribution.id == row.id).first().run()
    return _contribution_out(saved, pb, locale)


def _stage_position_sql(pb: Playbook, column: str) -> str:
    # Stage keys are validated as ^[a-z][a-z0-9_]*$ by the playbook decoder, so they are safe to inline.
    whens = " ".join(f"WHEN '{s.key}' THEN {i}" for i, s in enumerate(pb.stages))
    return f"(CASE {column} {whens} ELSE -1 END)"


async def _heat_cells(pb: Playbook, where_sql: str, args: list) -> list[HeatCell]:
    """Counts by (role, stage) and how many preceded a forward move out of that stage (set-based)."""
    lost = [s.key for s in pb.stages if s.terminal == "lost"]
    not_lost = " AND ".join(f"t.to_stage <> '{k}'" for k in lost) or "TRUE"
    sql = (f"SELECT c.role, c.stage, COUNT(*) AS n, SUM(CASE WHEN EXISTS (SELECT 1 FROM stage_transition t "
           f"WHERE t.opportunity = c.opportunity AND t.from_stage = c.stage AND t.at >= c.created_at "
           f"AND {not_lost} AND {_stage_position_sql(pb, 't.to_stage')} > {_stage_position_sql(pb, 't.from_stage')}"
           f") THEN 1 ELSE 0 END) AS advanced FROM contribution c JOIN opportunity o ON o.id = c.opportunity "
           f"WHERE {where_sql} GROUP BY c.role, c.stage")
    rows = await Contribution.raw(sql, *args).run()
    return [HeatCell(role=r["role"], stage=r["stage"], count=int(r["n"]), advanced=int(r["advanced"] or 0))
            for r in rows]


def _heat_out(cells: list[HeatCell], pb: Playbook) -> HeatOut:
    h = heat(cells, [s.key for s in pb.stages])
    return HeatOut(roles=h.roles, stages=h.stages, counts=h.counts, total=h.total, share_by_role=h.share_by_role,
                   progress_share_by_role=h.progress_share_by_role)


async def list_contributions(viewer: Viewer, opp_id: str, pb: Playbook, locale: str) -> ContributionList:
    opp = await visible_opportunity(viewer, opp_id)
    rows = await Contribution.select(*Contribution.all_columns(), Contribution.user.display_name).where(
        Contribution.opportunity == opp["id"]).order_by(Contribution.created_at, ascending=False).limit(200).run()
    cells = await _heat_cells(pb, "c.opportunity = {}", [opp["id"]])
    return ContributionList(items=[_contribution_out(r, pb, locale) for r in rows], heat=_heat_out(cells, pb))


async def team_heat(viewer: Viewer, scope: str, pb: Playbook, since: datetime) -> HeatOut:
    """Team: the teams the viewer manages (or belongs to); org: admins only; me: the viewer's own."""
    if scope == "org":
        if not viewer.is_admin:
            raise ApiError(403, "forbidden", "Only an admin may see the whole organisation's contributions.")
        return _heat_out(await _heat_cells(pb, "c.created_at >= {}", [since]), pb)
    if scope == "me":
        return _heat_out(await _heat_cells(pb, "c.\"user\" = {} AND c.created_at >= {}", [viewer.id, since]), pb)
    teams = list(viewer.managed_team_ids) or ([viewer.team_id] if viewer.team_id else [])
    if not teams:
        return _heat_out([], pb)
    marks = ", ".join("{}" for _ in teams)
    return _heat_out(await _heat_cells(pb, f"o.team IN ({marks}) AND c.created_at >= {{}}", [*teams, since]), pb)


# ---------------------------------------------------------------- check-ins


def _checkin_out(row: dict, names: dict[str, str]) -> CheckinOut:
    support = [SupportOut(user_id=s["user_id"], user_name=names.get(s["user_id"]), text=s["text"])
               for s in list_of(row["support"])]
    return CheckinOut(id=str(row["id"]), user_id=str(row["user"]), user_name=names.get(str(row["user"])),
                      day=row["day"], done=list_of(row["done"]), tomorrow=list_of(row["tomorrow"]),
                      support=support, attachment_ids=list_of(row["attachments"]), updated_at=row["updated_at"])


async def _names(ids) -> dict[str, str]:
    ids = [i for i in {str(i) for i in ids if i}]
    if not ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(ids)).run()
    return {str(r["id"]): r["display_name"] for r in rows}


async def _colleagues(viewer: Viewer, support) -> list[dict]:
    if not support:
        return []
    try:
        wanted = [parse_id(s.user_id, "user") for s in support]
    except ApiError:
        wanted = []  # not an id at all: the sentence below says what is wrong
    active = User.active == True  # noqa: E712
    rows = await User.select(User.id).where(User.id.is_in(wanted) & active).run() if wanted else []
    found = {str(r["id"]) for r in rows}
    for s in support:
        if s.user_id not in found or s.user_id == viewer.id:
            raise ApiError(422, "unknown_colleague", "A support request must name an active colleague other than you.",
                           {"field": "support"})
    return [{"user_id": s.user_id, "text": s.text.strip()} for s in support]


async def save_checkin(viewer: Viewer, data: CheckinIn, tz: ZoneInfo, quiet) -> CheckinOut:
    """Today's check-in (local day), created or replaced; each support request tells its colleague once."""
    now = utcnow()
    day = now.astimezone(tz).date()
    support = await _colleagues(viewer, data.support)
    files = [str(await _own_evidence(viewer, a)) for a in data.attachment_ids]
    values = {Checkin.done: [d.strip() for d in data.done], Checkin.tomorrow: [t.strip() for t in data.tomorrow],
              Checkin.support: support, Checkin.attachments: files, Checkin.updated_at: now}
    async with write_transaction():
        found = await Checkin.select(Checkin.id).where((Checkin.user == viewer.id) & (Checkin.day == day)).first().run()
        if found:
            await Checkin.update(values).where(Checkin.id == found["id"]).run()
            checkin_id = found["id"]
        else:
            row = Checkin(user=viewer.id, day=day, created_at=now, **{c._meta.name: v for c, v in values.items()})
            await Checkin.insert(row).run()
            checkin_id = row.id
        for request in support:  # the same request saved twice tells the colleague once
            digest = hashlib.sha1(request["text"].encode()).hexdigest()[:12]
            await alerting.raise_alert(
                key=f"support:{checkin_id}:{request['user_id']}:{digest}", kind="support",
                recipients=[request["user_id"]], now=now, quiet_until=quiet_until(now, tz, quiet),
                params={"by": viewer.display_name, "text": request["text"], "url": "/checkin"})
    return await my_checkin(viewer, day)


async def my_checkin(viewer: Viewer, day: date) -> CheckinOut | None:
    row = await Checkin.select().where((Checkin.user == viewer.id) & (Checkin.day == day)).first().run()
    if row is None:
        return None
    names = await _names([row["user"], *[s["user_id"] for s in list_of(row["support"])]])
    return _checkin_out(row, names)


async def team_checkins(viewer: Viewer, day: date) -> TeamCheckins:
    """A manager's teams for a day: who checked in (with what) and who has not."""
    if not viewer.is_manager and not viewer.is_admin:
        raise ApiError(403, "forbidden", "Only managers see their team's check-ins.")
    members = User.select(User.id, User.display_name, User.roles).where(User.active == True)  # noqa: E712
    if not viewer.is_admin:
        if not viewer.managed_team_ids:
            return TeamCheckins(day=day, items=[], missing=[])
        members = members.where(User.team.is_in(list(viewer.managed_team_ids)))
    people = [m for m in await members.order_by(User.display_name).run()
              if str(m["id"]) != viewer.id and "admin" not in roles_from_db(m["roles"])]
    ids = [m["id"] for m in people]
    rows = await Checkin.select().where(Checkin.user.is_in(ids) & (Checkin.day == day)).run() if ids else []
    names = {str(m["id"]): m["display_name"] for m in people}
    names.update(await _names([s["user_id"] for r in rows for s in list_of(r["support"])]))
    done = {str(r["user"]) for r in rows}
    return TeamCheckins(day=day, items=[_checkin_out(r, names) for r in rows],
                        missing=[{"user_id": str(m["id"]), "user_name": m["display_name"]}
                                 for m in people if str(m["id"]) not in done])

