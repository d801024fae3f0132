"""Attachments: checked by their bytes, stored under server-made keys, counted only while they exist."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid

from server.adapters.storage import Storage, StorageUnavailable
from server.db import write_transaction
from server.domain.access import Viewer, scope_for
from server.domain.filetypes import CONTENT_TYPES, EXTENSIONS, safe_filename, sniff
from server.domain.playbook import Material, Playbook, Text
from server.errors import ApiError, not_found
from server.queries import audit, scope
from server.queries.common import parse_id, sid, utcnow
from server.schemas import AttachmentOut
from server.queries.opp_facts import bump_facts
from server.tables import Attachment, Contribution, Opportunity, User


def find_material(pb: Playbook, key: str) -> Material | None:
    return next((m for _, n in pb.nodes for m in n.materials if m.key == key), None)


def _out(row: dict) -> AttachmentOut:
    return AttachmentOut(id=str(row["id"]), opportunity_id=sid(row["opportunity"]), material=row["material"],
                         filename=row["filename"], content_type=row["content_type"], size=row["size"],
                         sha256=row["sha256"], status=row["status"], uploaded_by=str(row["uploaded_by"]),
                         created_at=row["created_at"])


async def visible_opportunity(viewer: Viewer, opp_id) -> dict:
    where = await scope.opportunity_where(scope_for(viewer))
    query = Opportunity.select(Opportunity.id).where(Opportunity.id == parse_id(opp_id, "opportunity"))
    row = await scope.apply(query, where).first().run()
    if not row:
        raise not_found("opportunity")
    return row


def _require(storage: Storage | None) -> Storage:
    if storage is None:
        raise StorageUnavailable("no object storage configured")
    return storage


def _check_bytes(material: Material, data: bytes) -> str:
    """The file's type, decided by its bytes; 413/415/422 with a sentence when it may not be stored."""
    limit = int(material.max_mb * 1024 * 1024)
    if len(data) > limit:
        raise ApiError(413, "file_too_large", f"The file is larger than {material.max_mb:g} MB, the limit for this "
                       "material.", {"max_bytes": limit})
    if not data:
        raise ApiError(422, "empty_file", "The file is empty.")
    kind = sniff(data)
    if kind is None or kind not in material.types:
        found = kind or "unknown"
        raise ApiError(415, "unsupported_file_type",
                       f"This file is {'a ' + found.upper() if kind else 'not a recognised type'}; "
                       f"{material.key} takes {', '.join(t.upper() for t in material.types)}.",
                       {"detected": found, "allowed": list(material.types)})
    return kind


async def _store(viewer: Viewer, opp_id, material: Material, filename: str | None, data: bytes,
                 storage: Storage | None) -> AttachmentOut:
    """Put the object, confirm it, then write its row; never a row without an object or an object without a row."""
    kind = _check_bytes(material, data)
    store = _require(storage)
    attachment_id = uuid.uuid4()
    folder = f"opportunities/{opp_id}" if opp_id is not None else f"evidence/{viewer.id}"
    key = f"{folder}/{attachment_id}.{EXTENSIONS[kind]}"
    await store.put(key, data, CONTENT_TYPES[kind])
    info = await store.stat(key)
    if info is None or info.size != len(data):
        await store.remove(key)
        raise StorageUnavailable("the stored object could not be confirmed")
    row = Attachment(id=attachment_id, opportunity=opp_id, material=material.key,
                     filename=safe_filename(filename, kind), content_type=CONTENT_TYPES[kind], size=len(data),
                     sha256=hashlib.sha256(data).hexdigest(), object_key=key, status="present",
                     uploaded_by=viewer.id, created_at=utcnow(), checked_at=utcnow())
    try:
        async with write_transaction():
            await Attachment.insert(row).run()
            if opp_id is not None:
                await bump_facts(opp_id)
            await audit.record("attachment.upload", actor_id=viewer.id, target_type="attachment",
                               target_id=attachment_id, detail={"material": material.key, "size": len(data)})
    except BaseException:
        await store.remove(key)  # no orphan object without a row
        raise
    saved = await Attachment.select().where(Attachment.id == attachment_id).first().run()
    return _out(saved)


async def upload(viewer: Viewer, opp_id: str, material_key: str, filename: str | None, data: bytes,
                 pb: Playbook, storage: Storage | None) -> AttachmentOut:
    opp = await visible_opportunity(viewer, opp_id)
    material = find_material(pb, material_key)
    if material is None:
        raise ApiError(422, "unknown_material", f"There is no material {material_key!r} in the playbook.")
    return await _store(viewer, opp["id"], material, filename, data, storage)


# A screenshot or scan backing a contribution or a check-in: not a playbook material, never gates anything.
EVIDENCE = Material(key="evidence", name=Text(zh="截图证据", en="Evidence"),
                    types=["jpeg", "png", "webp", "heic", "pdf"], max_mb=10)


async def upload_evidence(viewer: Viewer, filename: str | None, data: bytes, storage: Storage | None) -> AttachmentOut:
    return await _store(viewer, None, EVIDENCE, filename, data, storage)


async def _may_see_evidence(viewer: Viewer, row: dict) -> bool:
    """The uploader, an admin, the uploader's managers, or whoever sees the opportunity it backs."""
    if viewer.is_admin or str(row["uploaded_by"]) == viewer.id or str(row["uploaded_by"]) in viewer.report_ids:
        return True
    uploader = await User.select(User.team).where(User.id == row["uploaded_by"]).first().run()
    if uploader and uploader["team"] is not None and str(uploader["team"]) in viewer.managed_team_ids:
        return True
    backed = await Contribution.select(Contribution.opportunity).where(
        Contribution.attachment == row["id"]).first().run()
    if backed is None:
        return False
    try:
        await visible_opportunity(viewer, str(backed["opportunity"]))
    except ApiError:
        return False
    return True


async def download_url(viewer: Viewer, attachment_id: str, storage: Storage | None) -> str:
    row = await Attachment.select().where(Attachment.id == parse_id(attachment_id, "attachment")).first().run()
    if not row or row["status"] == "pending":
        raise not_found("attachment")
    if row["opportunity"] is None:
        if not await _may_see_evidence(viewer, row):
            raise not_found("attachment")
    else:
        await visible_opportunity(viewer, str(row["opportunity"]))
    if row["status"] == "missing":
        raise ApiError(410, "attachment_missing", "This file is no longer in storage; please upload it again.")
    return await _require(storage).presigned_get(row["object_key"], filename=row["filename"],
                                                 content_type=row["content_type"])


async def list_for_opportunity(viewer: Viewer, opp_id: str) -> list[AttachmentOut]:
    opp = await visible_opportunity(viewer, opp_id)
    # A pending row is a direct upload not confirmed yet (or abandoned): not a file anyone can open.
    rows = await Attachment.select().where((Attachment.opportunity == opp["id"]) & (Attachment.status != "pending")
                                           ).order_by(Attachment.created_at, ascending=False).run()
    return [_out(r) for r in rows]


PENDING_TTL_MINUTES = 60


def _printable(name: str) -> str:
    """The name as given, less control characters (PostgreSQL refuses NUL); cleaned fully at confirm."""
    return "".join(ch for ch in name if unicodedata.category(ch)[0] != "C") or "file"


async def presign(viewer: Viewer, opp_id: str, material_key: str, filename: str, size: int, pb: Playbook,
                  storage: Storage | None):
    """Step 1 of a direct upload: a pending row and a presigned PUT URL for a server-made key."""
    from datetime import timedelta

    from server.schemas import PresignOut

    opp = await visible_opportunity(viewer, opp_id)
    material = find_material(pb, material_key)
    if material is None:
        raise ApiError(422, "unknown_material", f"There is no material {material_key!r} in the playbook.")
    limit = int(material.max_mb * 1024 * 1024)
    if size > limit:
        raise ApiError(413, "file_too_large", f"The file is larger than {material.max_mb:g} MB, the limit for this "
                       "material.", {"max_bytes": limit})
    store = _require(storage)
    attachment_id = uuid.uuid4()
    key = f"opportunities/{opp['id']}/{attachment_id}.upload"
    url = await store.presigned_put(key, expires=timedelta(minutes=15))
    now = utcnow()
    await Attachment.insert(Attachment(
        id=attachment_id, opportunity=opp["id"], material=material_key, filename=_printable(filename)[:255],
        content_type="application/octet-stream", size=size, object_key=key, status="pending",
        uploaded_by=viewer.id, created_at=now)).run()
    return PresignOut(attachment_id=str(attachment_id), url=url, method="PUT", expires_at=now + timedelta(minutes=15))


async def confirm(viewer: Viewer, attachment_id: str, pb: Playbook, storage: Storage | None) -> AttachmentOut:
    """Step 3: check the uploaded object really exists and its bytes are an allowed type."""
    row = await Attachment.select().where(Attachment.id == parse_id(attachment_id, "attachment")).first().run()
    if not row or row["opportunity"] is None or str(row["uploaded_by"]) != viewer.id:
        raise not_found("upload")
    await visible_opportunity(viewer, str(row["opportunity"]))
    if row["status"] != "pending":
        return _out(row)  # confirming twice is harmless
    store = _require(storage)
    info = await store.stat(row["object_key"])
    if info is None:
        raise ApiError(422, "upload_not_found", "The file has not arrived in storage yet; upload it, then confirm.")
    material = find_material(pb, row["material"])
    limit = int((material.max_mb if material else 20) * 1024 * 1024)
    data = await store.get(row["object_key"]) if info.size <= limit else None
    kind = sniff(data) if data else None
    if data is None or kind is None or material is None or kind not in material.types:
        await store.remove(row["object_key"])
        await Attachment.delete().where(Attachment.id == row["id"]).run()
        if data is None:
            raise ApiError(413, "file_too_large", "The uploaded file is larger than the limit for this material.")
        raise ApiError(415, "unsupported_file_type", f"The uploaded file is not an allowed type for {row['material']}.",
                       {"detected": kind or "unknown", "allowed": list(material.types) if material else []})
    final_key = row["object_key"].rsplit(".", 1)[0] + "." + EXTENSIONS[kind]
    await store.put(final_key, data, CONTENT_TYPES[kind])
    await store.remove(row["object_key"])
    await Attachment.update({
        Attachment.status: "present", Attachment.object_key: final_key, Attachment.size: len(data),
        Attachment.content_type: CONTENT_TYPES[kind], Attachment.sha256: hashlib.sha256(data).hexdigest(),
        Attachment.filename: safe_filename(row["filename"], kind), Attachment.checked_at: utcnow(),
    }).where(Attachment.id == row["id"]).run()
    await bump_facts(row["opportunity"])
    await audit.record("attachment.upload", actor_id=viewer.id, target_type="attachment", target_id=row["id"],
                       detail={"material": row["material"], "size": len(data), "direct": True})
    saved = await Attachment.select().where(Attachment.id == row["id"]).first().run()
    return _out(saved)


async def forget_stale_pending(now, storage: Storage | None) -> int:
    """Pending uploads never confirmed within an hour are dropped (row and any object)."""
    from datetime import timedelta

    rows = await Attachment.select(Attachment.id, Attachment.object_key).where(
        (Attachment.status == "pending") & (Attachment.created_at < now - timedelta(minutes=PENDING_TTL_MINUTES))).run()
    for row in rows:
        if storage is not None:
            await storage.remove(row["object_key"])
        await Attachment.delete().where(Attachment.id == row["id"]).run()
    return len(rows)
