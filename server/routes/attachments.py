"""Attachment upload (multipart) and permission-checked download."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect

from server.domain.access import Viewer
from server.errors import ApiError
from server.queries import attachments
from server.schemas import AttachmentOut, PresignIn, PresignOut

Req = Request[Viewer, str, object]
UPLOAD_LIMIT = 200 * 1024 * 1024 + 64 * 1024  # the largest per-material limit the playbook allows, plus form overhead


@post("/api/v1/opportunities/{opp_id:str}/attachments", request_max_body_size=UPLOAD_LIMIT, tags=["attachments"],
      description="multipart/form-data with `material` (key) and `file`")
async def upload_attachment(request: Req, opp_id: FromPath[str]) -> AttachmentOut:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ApiError(415, "multipart_required", "Send the file as multipart/form-data with fields material and file.")
    form = await request.form()
    material, upload = form.get("material"), form.get("file")
    if not isinstance(material, str) or not material.strip():
        raise ApiError(422, "material_required", "The form field material (the material key) is missing.")
    if not isinstance(upload, UploadFile):
        raise ApiError(422, "file_required", "The form field file is missing.")
    data = await upload.read()
    return await attachments.upload(request.user, opp_id, material.strip(), upload.filename, data,
                                    request.app.state.playbook, request.app.state.storage)


@get("/api/v1/opportunities/{opp_id:str}/attachments", tags=["attachments"])
async def list_attachments(request: Req, opp_id: FromPath[str]) -> list[AttachmentOut]:
    return await attachments.list_for_opportunity(request.user, opp_id)


@get("/api/v1/attachments/{attachment_id:str}/download", tags=["attachments"], status_code=302)
async def download_attachment(request: Req, attachment_id: FromPath[str]) -> Redirect:
    url = await attachments.download_url(request.user, attachment_id, request.app.state.storage)
    return Redirect(url, status_code=302, headers={"Cache-Control": "no-store"})


@post("/api/v1/opportunities/{opp_id:str}/attachments/presign", tags=["attachments"],
      description="Direct upload, step 1: a presigned PUT URL (≤ 15 min) for a server-made key")
async def presign_attachment(request: Req, opp_id: FromPath[str], data: JSONBody[PresignIn]) -> PresignOut:
    return await attachments.presign(request.user, opp_id, data.material, data.filename, data.size,
                                     request.app.state.playbook, request.app.state.storage)


@post("/api/v1/attachments/{attachment_id:str}/confirm", status_code=200, tags=["attachments"],
      description="Direct upload, step 3: the server checks the object exists and its bytes are an allowed type")
async def confirm_attachment(request: Req, attachment_id: FromPath[str]) -> AttachmentOut:
    return await attachments.confirm(request.user, attachment_id, request.app.state.playbook,
                                     request.app.state.storage)


ATTACHMENT_HANDLERS = [upload_attachment, list_attachments, download_attachment, presign_attachment,
                       confirm_attachment]
