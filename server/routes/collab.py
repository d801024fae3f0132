"""Contributions, heat maps, evidence screenshots and the daily check-in. Thin handlers."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal

from litestar import Request, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromPath, JSONBody, QueryParameter

from server.domain.access import Viewer
from server.errors import ApiError
from server.queries import attachments, collab
from server.routes.pages import request_locale
from server.schemas import AttachmentOut
from server.schemas_collab import CheckinIn, CheckinOut, ContributionIn, ContributionList, ContributionOut, HeatOut, \
    TeamCheckins

Req = Request[Viewer, str, object]
EVIDENCE_LIMIT = 10 * 1024 * 1024 + 64 * 1024


@post("/api/v1/opportunities/{opp_id:str}/contributions", tags=["contributions"])
async def add_contribution(request: Req, opp_id: FromPath[str], data: JSONBody[ContributionIn]) -> ContributionOut:
    return await collab.add_contribution(request.user, opp_id, data, request.app.state.playbook,
                                         request_locale(request))


@get("/api/v1/opportunities/{opp_id:str}/contributions", tags=["contributions"])
async def list_contributions(request: Req, opp_id: FromPath[str]) -> ContributionList:
    return await collab.list_contributions(request.user, opp_id, request.app.state.playbook, request_locale(request))


@get("/api/v1/contributions/heat", tags=["contributions"])
async def contribution_heat(
    request: Req, scope_: Annotated[Literal["me", "team", "org"], QueryParameter(name="scope")] = "team",
    days: Annotated[int, QueryParameter(ge=1, le=730)] = 90,
) -> HeatOut:
    since = datetime.now(timezone.utc) - timedelta(days=days)
    return await collab.team_heat(request.user, scope_, request.app.state.playbook, since)


@post("/api/v1/evidence", request_max_body_size=EVIDENCE_LIMIT, tags=["contributions"],
      description="multipart/form-data with `file`: a screenshot (JPEG, PNG, WebP, HEIC or PDF, ≤ 10 MB) backing a "
                  "contribution or a check-in")
async def upload_evidence(request: Req) -> AttachmentOut:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "multipart_required", "Send the screenshot as multipart/form-data with the field file.")
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(422, "file_required", "The form field file is missing.")
    return await attachments.upload_evidence(request.user, upload.filename, await upload.read(),
                                             request.app.state.storage)


@put("/api/v1/checkins/today", tags=["check-ins"])
async def save_checkin(request: Req, data: JSONBody[CheckinIn]) -> CheckinOut:
    settings = request.app.state.settings
    return await collab.save_checkin(request.user, data, settings.tz, settings.quiet)


@get("/api/v1/checkins/today", tags=["check-ins"])
async def my_checkin(request: Req) -> CheckinOut | None:
    return await collab.my_checkin(request.user, datetime.now(request.app.state.settings.tz).date())


@get("/api/v1/checkins/team", tags=["check-ins"])
async def team_checkins(
    request: Req, day: Annotated[date | None, QueryParameter(description="local date, default today")] = None,
) -> TeamCheckins:
    return await collab.team_checkins(request.user, day or datetime.now(request.app.state.settings.tz).date())


COLLAB_HANDLERS = [add_contribution, list_contributions, contribution_heat, upload_evidence, save_checkin, my_checkin,
                   team_checkins]
