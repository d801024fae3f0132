"""The lost-deal review and the spreadsheet exports (silent list, lost-deal review, PHI table). Audited."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from litestar import Request, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from server.adapters.tabular import csv_chunks, xlsx_bytes
from server.db import write_transaction
from server.domain.access import Viewer
from server.errors import ApiError
from server.queries import audit, lost_review, phi, workbench
from server.queries.lost_review import LostReview
from server.routes.pages import request_locale

Req = Request[Viewer, str, object]
Scope = Annotated[Literal["me", "team", "org"], QueryParameter(name="scope", description="me, team or org")]
TeamId = Annotated[str | None, QueryParameter(max_length=64)]
Days = Annotated[int, QueryParameter(ge=1, le=730, description="lost in the last N days")]
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@get("/api/v1/insight/lost-review", tags=["health"],
     description="Lost deals with the gap between the last customer contact and the move to lost; teams flagged "
                 "where more than 25 % of lost deals exceed 3 days")
async def get_lost_review(request: Req, scope_: Scope = "me", team_id: TeamId = None, days: Days = 90) -> LostReview:
    return await lost_review.lost_review(request.user, scope_, team_id, request.app.state.playbook,
                                         datetime.now(timezone.utc), days)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


async def _silent_table(request: Req, scope_name: str, team_id: str | None, days: int):
    state = request.app.state
    page = await workbench.silent_list(request.user, "me" if scope_name == "me" else "team", state.playbook,
                                       state.settings.tz, datetime.now(timezone.utc), limit=100_000)
    headers = ["客户 Customer", "公司 Company", "电话 Phone", "沉默天数 Days silent", "阈值 Threshold",
               "最近联系 Last contact", "商机 Opportunity", "阶段 Stage", "金额 Amount", "负责人 Owner"]
    rows = [[i.customer_name, i.company, i.phone, i.days_silent, i.threshold_days, i.last_contact_at,
             i.opportunity_title, i.stage, i.amount, i.owner_name] for i in page.items]
    return "沉默客户", headers, rows


async def _lost_table(request: Req, scope_name: str, team_id: str | None, days: int):
    review = await lost_review.lost_review(request.user, scope_name, team_id, request.app.state.playbook,
                                           datetime.now(timezone.utc), days)
    headers = ["商机 Opportunity", "客户 Customer", "负责人 Owner", "团队 Team", "输单时间 Lost at",
               "最近有效联系 Last contact", "间隔天数 Gap days", "输单原因 Reason"]
    rows = [[i.title, i.customer_name, i.owner_name, i.team_name, i.lost_at, i.last_contact_at, i.gap_days,
             i.reason] for i in review.items]
    return "输单复盘", headers, rows


async def _phi_table(request: Req, scope_name: str, team_id: str | None, days: int):
    state = request.app.state
    out = await phi.health(request.user, scope_name, team_id, state.playbook, state.settings.tz,
                           datetime.now(timezone.utc))
    headers = ["对象 Who", "健康指数 PHI", "阶段流转天数 Stage transition days", "关键材料完整率 % Material completeness",
               "沉默中断率 % Silent rate", "进行中商机 Open deals"]
    rows = [["合计 Total", out.score, out.stage_transition_days, _pct(out.material_completeness),
             _pct(out.silent_rate), out.counts.open]]
    rows += [[r.name, r.score, r.stage_transition_days, _pct(r.material_completeness), _pct(r.silent_rate), r.open]
             for r in (out.teams or out.reps or [])]
    return "过程健康度", headers, rows


TABLES = {"silent": _silent_table, "lost-review": _lost_table, "phi": _phi_table}


@get("/api/v1/exports/{filename:str}", tags=["exports"],
     description="silent.csv, silent.xlsx, lost-review.csv, lost-review.xlsx, phi.csv or phi.xlsx (CSV is UTF-8 with "
                 "a BOM), for the scope the caller may see")
async def export_table(request: Req, filename: FromPath[str], scope_: Scope = "me", team_id: TeamId = None,
                       days: Days = 90) -> Stream:
    name, _, fmt = filename.rpartition(".")
    if name not in TABLES or fmt not in MEDIA:
        raise ApiError(404, "not_found", "Exports are silent, lost-review and phi, as .csv or .xlsx.")
    title, headers, rows = await TABLES[name](request, scope_, team_id, days)
    async with write_transaction():
        await audit.record("export", actor_id=request.user.id, target_type="export", target_id=f"{name}.{fmt}",
                           detail={"scope": scope_, "rows": len(rows), "locale": request_locale(request)})
    body = csv_chunks(headers, rows) if fmt == "csv" else xlsx_bytes(title, headers, rows)
    stamp = datetime.now(request.app.state.settings.tz).strftime("%Y%m%d")
    return Stream(body, media_type=MEDIA[fmt],
                  headers={"Content-Disposition": f'attachment; filename="salesgate-{name}-{stamp}.{fmt}"',
                           "Cache-Control": "no-store"})


EXPORT_HANDLERS = [get_lost_review, export_table]
