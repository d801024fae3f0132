"""The Process Health Index of a person, a team or the organisation: the numbers, the trend, the rankings.

Flows (stage transition days) are measured over the window; stocks (material completeness,
silent rate) as of its end: live when the window ends now, else from the daily snapshot
(``PhiSnapshot``, written by the phi_snapshot job) of that day.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.domain import phi
from server.domain.access import Viewer, scope_for
from server.domain.playbook import Playbook
from server.errors import ApiError
from server.queries import phi_sql, scope
from server.queries.common import parse_id, sid
from server.queries.insight_sql import as_date, fetch, where_sql
from server.schemas_insight import PhiCounts, PhiOut, PhiRank, PhiWeek
from server.tables import Opportunity, PhiSnapshot, Team, User

Group = tuple[str, str | None]  # (owner id, team id)


async def where_for(viewer: Viewer, scope_name: str, team_id: str | None, table=Opportunity, listing: bool = False):
    """The owner/team filter of a scope over `table` (opportunity or phi_snapshot), through scope.py."""
    problem = phi.scope_problem(viewer, scope_name, team_id, listing)
    if problem:
        raise ApiError(problem[0], "forbidden" if problem[0] == 403 else "invalid_scope", problem[1])
    if scope_name == "me":
        return table.owner == viewer.id
    if team_id is not None:
        team = str(parse_id(team_id, "team"))
        if not viewer.is_admin and team not in viewer.managed_team_ids:
            raise ApiError(404, "not_found", "No such team, or you may not see it.")
        return table.team == team
    if scope_name == "org":
        return None
    return await scope.owner_team_where(scope_for(viewer), table)


async def partials(pb: Playbook, where, start: datetime, end: datetime, now: datetime, tz: ZoneInfo, *,
                   stocks_live: bool = True, flows: bool = True) -> tuple[dict[Group, phi.Partial], list[phi.Partial]]:
    """(the counts per (owner, team): transitions in [start, end) and, when `stocks_live`, the stocks now;
    the transitions of each of the trend's 8 weeks, summed over the groups)."""
    out: dict[Group, phi.Partial] = {}
    weekly = [phi.Partial() for _ in range(phi.TREND_WEEKS)]

    def at(row) -> phi.Partial:
        return out.setdefault((str(row["owner"]), sid(row["team"])), phi.Partial())
    if flows:
        for row in await phi_sql.transitions(pb, where, start, end, phi.week_starts(now, tz), now):
            n, days, bucket = int(row["n"]), float(row["days"] or 0), int(row["bucket"])
            if int(row["in_window"]):
                part = at(row)
                part.transitions, part.transition_days = part.transitions + n, part.transition_days + days
            if bucket >= 0:
                week = weekly[bucket]
                week.transitions, week.transition_days = week.transitions + n, week.transition_days + days
    if stocks_live:
        for row in await phi_sql.completeness(pb, where):
            part = at(row)
            part.required, part.present = int(row["required"]), int(row["present"] or 0)
        for row in await phi_sql.silence(pb, where, now):
            part = at(row)
            part.open, part.silent = int(row["open"]), int(row["silent"] or 0)
    return out, weekly


async def snapshot_stocks(where, first: date, last: date) -> dict[date, phi.Partial]:
    """Stock counts per recorded day in [first, last], summed over the scope's groups."""
    rows = await fetch("SELECT phi_snapshot.day AS day, SUM(phi_snapshot.required) AS required, "
                       "SUM(phi_snapshot.present) AS present, SUM(phi_snapshot.open) AS open, "
                       "SUM(phi_snapshot.silent) AS silent FROM phi_snapshot WHERE phi_snapshot.day >= {} "
                       "AND phi_snapshot.day <= {} AND {} GROUP BY phi_snapshot.day", first, last, where_sql(where))
    return {as_date(r["day"]): phi.Partial(required=int(r["required"] or 0), present=int(r["present"] or 0),
                                           open=int(r["open"] or 0), silent=int(r["silent"] or 0)) for r in rows}


def _with_stocks(flow: phi.Partial, stocks: phi.Partial) -> phi.Partial:
    return phi.Partial(transitions=flow.transitions, transition_days=flow.transition_days, required=stocks.required,
                       present=stocks.present, open=stocks.open, silent=stocks.silent)


async def health(viewer: Viewer, scope_name: str, team_id: str | None, pb: Playbook, tz: ZoneInfo, now: datetime,
                 start: date | None = None, end: date | None = None) -> PhiOut:
    try:
        frm, to = phi.window(now, tz, start, end)
    except phi.WindowError as exc:
        raise ApiError(422, "invalid_window", str(exc)) from None
    where = await where_for(viewer, scope_name, team_id)
    live = to >= now
    groups, flows = await partials(pb, where, frm, to, now, tz, stocks_live=live)
    summed = phi.total(groups.values())
    stocks_day = None
    snap_where = await where_for(viewer, scope_name, team_id, PhiSnapshot)
    if not live:
        last = to.astimezone(tz).date()
        days = await snapshot_stocks(snap_where, date.fromordinal(last.toordinal() - 31), last)
        stocks_day = max(days) if days else None
        summed = _with_stocks(summed, days[stocks_day] if stocks_day else phi.Partial())
    out = _result(pb, scope_name, team_id, frm, to, summed, stocks_day)
    now_stocks = summed if live else phi.total(
        (await partials(pb, where, now, now, now, tz, flows=False))[0].values())
    out.weekly = await weekly(pb, tz, now, snap_where, flows, now_stocks)
    if scope_name == "org":
        out.teams = await _ranking(pb, _by(groups, lambda g: g[1]), Team, Team.name, all_rows=True)
    elif scope_name == "team":
        out.reps = await _ranking(pb, _by(groups, lambda g: g[0]), User, User.display_name)
    return out


def _result(pb: Playbook, scope_name: str, team_id: str | None, frm: datetime, to: datetime, p: phi.Partial,
            stocks_day: date | None) -> PhiOut:
    v = phi.values_of(p)
    return PhiOut(scope=scope_name, team_id=team_id, from_=frm, to=to,  # type: ignore[arg-type]
                  stage_transition_days=v.stage_transition_days, material_completeness=v.material_completeness,
                  silent_rate=v.silent_rate, score=phi.score(v, pb.phi),
                  thresholds=phi.thresholds_json(pb.phi), healthy=phi.healthy(v, pb.phi),
                  sub_scores=phi.sub_scores(v, pb.phi),
                  counts=PhiCounts(transitions=p.transitions, transition_days=round(p.transition_days, 2),
                                   required=p.required, present=p.present, open=p.open, silent=p.silent),
                  stocks_as_of=stocks_day)


async def weekly(pb: Playbook, tz: ZoneInfo, now: datetime, snap_where, flows: list[phi.Partial],
                 now_stocks: phi.Partial) -> list[PhiWeek]:
    """The last 8 weeks: the transitions of each; the stocks at its last recorded day (this week: now)."""
    starts = phi.week_starts(now, tz)
    days = await snapshot_stocks(snap_where, starts[0].date(), now.astimezone(tz).date())
    out = []
    for i, start in enumerate(starts):
        if i == len(starts) - 1:
            stocks: phi.Partial | None = now_stocks
        else:
            recorded = [d for d in days if start.date() <= d < starts[i + 1].date()]
            stocks = days[max(recorded)] if recorded else None
        v = phi.values_of(_with_stocks(flows[i], stocks or phi.Partial()))
        # a week without a recorded day has its transitions but no score: a score of one number out of
        # three would read as a change in health
        out.append(PhiWeek(week_start=start.date(), stage_transition_days=v.stage_transition_days,
                           material_completeness=v.material_completeness, silent_rate=v.silent_rate,
                           score=phi.score(v, pb.phi) if stocks is not None else None))
    return out


def _by(groups: dict[Group, phi.Partial], key) -> dict[str | None, phi.Partial]:
    out: dict[str | None, phi.Partial] = {}
    for group, part in groups.items():
        k = key(group)
        out[k] = out.get(k, phi.Partial()).plus(part)
    return out


async def _ranking(pb: Playbook, parts: dict[str | None, phi.Partial], table, name_col,
                   all_rows: bool = False) -> list[PhiRank]:
    """Best score first; without data last. `all_rows`: every row of `table` (every team), measured or not."""
    ids = [k for k in parts if k is not None]
    query = table.select(table.id, name_col)
    if not all_rows:
        if not ids:
            return []
        query = query.where(table.id.is_in([parse_id(i) for i in ids]))
    names = {str(r["id"]): r[name_col._meta.name] for r in await query.run()}
    rows = []
    for key in {*names, *parts}:
        v = phi.values_of(parts.get(key, phi.Partial()))
        rows.append(PhiRank(id=key, name=names.get(key, "—") if key else "—", score=phi.score(v, pb.phi),
                            stage_transition_days=v.stage_transition_days,
                            material_completeness=v.material_completeness, silent_rate=v.silent_rate,
                            open=parts.get(key, phi.Partial()).open))
    rows.sort(key=lambda r: (r.score is None, -(r.score or 0), r.name))
    return rows

