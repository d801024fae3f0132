"""The playbook editor's API (/api/v1/admin/playbook/…) and screens (/admin/playbook…). Admins only.

Drafts are saved as YAML (the file format stays the source of truth); the form editor sends the
document as JSON. Every save answers the draft's review: the problems `salesgate playbook check`
would list, the diff against the active version and what publishing would change for the open
opportunities. Published versions are never edited; restoring one publishes a copy of it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from markupsafe import Markup
from litestar import Request, Response, Router, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from server.domain.access import Viewer
from server.domain.playbook import Playbook
from server.errors import ApiError
from server.queries import audit, playbooks
from server.routes.admin_pages import _error_page, require_admin
from server.routes.auth import client_ip
from server.routes.pages import render, request_locale
from server.routes.playbook import playbook_json

Req = Request[Viewer, str, object]
Note = Annotated[str, Meta(max_length=500)]
UPLOAD_LIMIT = playbooks.MAX_BODY + 64 * 1024


class DraftCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Start a draft from a published version (default: the active one), or from a playbook's YAML text."""

    from_version: Annotated[int, Meta(ge=1)] | None = None
    body: Annotated[str, Meta(max_length=playbooks.MAX_BODY)] | None = None
    note: Note | None = None


class DraftUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The whole draft: `document` (the playbook as JSON, as the form editor sends it) or `body` (YAML text)."""

    document: dict[str, Any] | None = None
    body: Annotated[str, Meta(max_length=playbooks.MAX_BODY)] | None = None
    note: Note | None = None


class PublishIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    note: Note | None = None
    expected_active: Annotated[int, Meta(ge=1)] | None = None  # the active version the reviewer saw


def _active(request: Req) -> Playbook:
    return request.app.state.playbook


def _activated(request: Req, pb: Playbook) -> dict:
    """This process runs the new version at once (the others within playbooks.REFRESH_SECONDS)."""
    request.app.state.playbook = pb
    return {"active": int(pb.version), "playbook": playbook_json(pb, request_locale(request))}


async def _with_review(request: Req, draft: dict) -> dict:
    review = await playbooks.review_body(draft["body"], _active(request))
    return {**draft, "review": review}


@get("/versions", description="Published versions (newest first; the first is active) and open drafts.")
async def list_versions() -> dict:
    return await playbooks.list_versions()


@get("/schema", description="The JSON Schema of a playbook document: what the form editor is built from.")
async def document_schema() -> dict:
    return msgspec.json.schema(Playbook)


@get("/versions/{number:int}", description="A published version: its YAML `body` and its `document`.")
async def get_version(number: FromPath[int]) -> dict:
    row = await playbooks.by_number(number)
    return await playbooks.detail(row["id"])


@get("/versions/{number:int}/export", description="A published version as its YAML file (audited).")
async def export_version(request: Req, number: FromPath[int]) -> Response[bytes]:
    body, name = await playbooks.export(number)
    await audit.record("playbook.export", actor_id=request.user.id, target_type="playbook_version",
                       target_id=number, ip=client_ip(request))
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in name)
    return Response(body.encode("utf-8"), media_type="application/yaml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{safe}"', "Cache-Control": "no-store"})


@post("/versions/{number:int}/restore", status_code=200,
      description="Publish a copy of an earlier version as the new active version (refused with 409 "
      "`playbook_strands_opportunities` when open opportunities sit in a step it lacks).")
async def restore_version(request: Req, number: FromPath[int], data: JSONBody[PublishIn]) -> dict:
    return _activated(request, await playbooks.restore(request.user, number, data.note, data.expected_active,
                                                       client_ip(request)))


@post("/drafts", status_code=201, description="A new draft, answered with its review.")
async def create_draft(request: Req, data: JSONBody[DraftCreate]) -> Response[dict]:
    draft = await playbooks.create_draft(request.user, body=data.body, from_number=data.from_version,
                                         source="import" if data.body is not None else "editor", note=data.note,
                                         ip=client_ip(request))
    return Response(await _with_review(request, draft), status_code=201)


@post("/drafts/import", status_code=201, request_max_body_size=UPLOAD_LIMIT,
      description="A draft from a playbook YAML file: multipart field `file`, or the raw body.")
async def import_draft(request: Req) -> Response[dict]:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        upload = (await request.form()).get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "file_required", "The form field file is missing.")
        raw = await upload.read()
    else:
        raw = await request.body()
    if not raw.strip():
        raise ApiError(422, "empty_file", "The file is empty.")
    if len(raw) > playbooks.MAX_BODY:
        raise ApiError(413, "playbook_too_large", f"A playbook may be at most {playbooks.MAX_BODY // 1024} KB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(422, "invalid_encoding", "The playbook file is not UTF-8 text.") from None
    if "\x00" in text:
        raise ApiError(422, "invalid_encoding", "The playbook file is not text.")
    draft = await playbooks.create_draft(request.user, body=text, from_number=None, source="import", note=None,
                                         ip=client_ip(request))
    return Response(await _with_review(request, draft), status_code=201)


@get("/drafts/{draft_id:int}", description="A draft with its review (problems, diff, impact).")
async def get_draft(request: Req, draft_id: FromPath[int]) -> dict:
    draft = await playbooks.detail(draft_id)
    if draft["status"] != "draft":
        raise ApiError(409, "not_a_draft", "This version is published; open it under /versions.")
    return await _with_review(request, draft)


@put("/drafts/{draft_id:int}", description="Save the whole draft (`document` or `body`); answered with its review.")
async def save_draft(request: Req, draft_id: FromPath[int], data: JSONBody[DraftUpdate]) -> dict:
    if (data.document is None) == (data.body is None):
        raise ApiError(422, "document_or_body", "Send the draft either as `document` (JSON) or as `body` (YAML).")
    body = data.body if data.body is not None else playbooks.to_yaml(data.document)
    draft = await playbooks.update_draft(request.user, draft_id, body, data.note, client_ip(request))
    return await _with_review(request, draft)


@get("/drafts/{draft_id:int}/review", description="Problems, the diff against the active version, and the "
     "impact on open opportunities.")
async def review_draft(request: Req, draft_id: FromPath[int]) -> dict:
    return await playbooks.review(draft_id, _active(request))


@post("/drafts/{draft_id:int}/publish", status_code=200,
      description="Publish a valid draft as the new active version. 422 `playbook_invalid` with its problems; "
      "409 `playbook_strands_opportunities`; 409 `playbook_changed` when `expected_active` is stale.")
async def publish_draft(request: Req, draft_id: FromPath[int], data: JSONBody[PublishIn]) -> dict:
    return _activated(request, await playbooks.publish(request.user, draft_id, data.note, data.expected_active,
                                                       client_ip(request)))


@delete("/drafts/{draft_id:int}", status_code=204)
async def delete_draft(request: Req, draft_id: FromPath[int]) -> None:
    await playbooks.delete_draft(request.user, draft_id, client_ip(request))


# ---- screens

def _script_json(value) -> Markup:
    """JSON for a <script type="application/json"> block, keeping key order (Jinja's tojson sorts keys,
    and the form follows the schema's order); <, > and & escaped so the text cannot end the block."""
    text = msgspec.json.encode(value).decode("utf-8")
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@get("/playbook")
async def playbook_page(request: Req) -> Response:
    listing = await playbooks.list_versions()
    return render(request, "admin_playbook.html", tab="me", section="playbook", listing=listing)


@get("/playbook/drafts/{draft_id:int}")
async def editor_page(request: Req, draft_id: FromPath[int]) -> Response:
    draft = await playbooks.detail(draft_id)
    if draft["status"] != "draft":
        raise ApiError(409, "not_a_draft", "This version is published; start a draft from it to change it.")
    active = _active(request)
    return render(request, "admin_playbook_editor.html", tab="me", section="playbook", draft=draft,
                  schema=_script_json(msgspec.json.schema(Playbook)), document=_script_json(draft["document"]),
                  review=_script_json(await playbooks.review_body(draft["body"], active)),
                  active=int(active.version) if active.version.isdigit() else None)


PLAYBOOK_ADMIN_HANDLERS = [
    Router(path="/api/v1/admin/playbook", guards=[require_admin], tags=["admin"], route_handlers=[
        list_versions, document_schema, get_version, export_version, restore_version, create_draft, import_draft,
        get_draft, save_draft, review_draft, publish_draft, delete_draft]),
    Router(path="/admin", guards=[require_admin], include_in_schema=False, exception_handlers={ApiError: _error_page},
           route_handlers=[playbook_page, editor_page]),
]
