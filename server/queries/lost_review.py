"""The lost-deal review over a scope and a window: each lost deal's gap, and the teams flagged."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from server.domain.access import Viewer
from server.domain.lost_review import gap_days, review
from server.domain.playbook import Playbook
from server.queries.phi import where_for
from server.tables import Opportunity, StageTransition

WINDOW_DAYS = 90


class LostDeal(msgspec.Struct, kw_only=True):
    opportunity_id: str
    title: str
    customer_name: str | None
    owner_name: str | None
    team_name: str
    lost_at: datetime
    last_contact_at: datetime | None
    gap_days: float | None
    reason: str | None


class TeamFlag(msgspec.Struct, kw_only=True):
    team: str
    lost: int
    over: int
    share: float
    flagged: bool


class LostReview(msgspec.Struct, kw_only=True):
    items: list[LostDeal]
    teams: list[TeamFlag]
    gap_days_limit: float = 3.0
    share_limit: float = 0.25


async def lost_review(viewer: Viewer, scope_name: str, team_id: str | None, pb: Playbook, now: datetime,
                      days: int = WINDOW_DAYS) -> LostReview:
    lost_stages = [s.key for s in pb.stages if s.terminal == "lost"]
    where = await where_for(viewer, scope_name, team_id, listing=True)
    query = Opportunity.select(Opportunity.id, Opportunity.title, Opportunity.customer.name,
                               Opportunity.owner.display_name, Opportunity.team.name, Opportunity.last_contact_at,
                               Opportunity.lost_reason).where(Opportunity.status == "lost")
    if where is not None:
        query = query.where(where)
    opps = await query.run()
    moved: dict[str, datetime] = {}
    ids = [o["id"] for o in opps]
    for start in range(0, len(ids), 500):
        for t in await StageTransition.select(StageTransition.opportunity, StageTransition.at).where(
                StageTransition.opportunity.is_in(ids[start:start + 500])
                & StageTransition.to_stage.is_in(lost_stages)).run():
            key = str(t["opportunity"])
            moved[key] = max(moved.get(key, t["at"]), t["at"])
    since = now - timedelta(days=days)
    items = []
    for o in opps:
        lost_at = moved.get(str(o["id"]))
        if lost_at is None or lost_at < since:
            continue
        items.append(LostDeal(opportunity_id=str(o["id"]), title=o["title"], customer_name=o["customer.name"],
                              owner_name=o["owner.display_name"], team_name=o["team.name"] or "—", lost_at=lost_at,
                              last_contact_at=o["last_contact_at"], gap_days=gap_days(o["last_contact_at"], lost_at),
                              reason=o["lost_reason"]))
    items.sort(key=lambda i: (-(i.gap_days if i.gap_days is not None else 1e9), i.lost_at))
    teams = [TeamFlag(team=t.team, lost=t.lost, over=t.over, share=t.share, flagged=t.flagged)
             for t in review([(i.team_name, i.gap_days) for i in items])]
    return LostReview(items=items, teams=teams)
