"""Playbook versions in the database: the active one, drafts, publishing, restoring, importing.

The active playbook is the published version with the highest number. At start the playbook file
(the shipped one or ``SALESGATE_PLAYBOOK``) is imported as a new published version when it differs
from the file last imported, so editing the file and restarting still works; otherwise the version
published in the admin screens stays active. Each process keeps the decoded active playbook and
checks every few seconds whether another process published a newer one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime, timezone
from typing import Any

import msgspec
import yaml

from server.db import write_transaction
from server.domain import playbook_diff
from server.domain.playbook import Playbook, PlaybookInvalid, parse_playbook
from server.errors import ApiError, not_found
from server.queries import audit
from server.queries.common import sid
from server.queries.opp_facts import facts_of
from server.tables import Attachment, Opportunity, PlaybookVersion

log = logging.getLogger("salesgate.playbook")

MAX_BODY = 512 * 1024
REFRESH_SECONDS = 3.0
_decoded: dict[int, Playbook] = {}  # number → decoded playbook (published bodies never change)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_yaml(document: dict) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)


def numbered(pb: Playbook, number: int) -> Playbook:
    """The runtime playbook carries its version number as its ``version`` (what opportunities record)."""
    return msgspec.structs.replace(pb, version=str(number))


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


async def _latest_published() -> dict | None:
    return await PlaybookVersion.select().where(PlaybookVersion.status == "published").order_by(
        PlaybookVersion.number, ascending=False).first().run()


async def active_number() -> int | None:
    row = await PlaybookVersion.select(PlaybookVersion.number).where(
        PlaybookVersion.status == "published").order_by(PlaybookVersion.number, ascending=False).first().run()
    return row["number"] if row else None


def _decode(row: dict) -> Playbook:
    number = row["number"]
    if number not in _decoded:
        _decoded[number] = numbered(parse_playbook(row["body"]), number)
    return _decoded[number]


async def _next_number() -> int:
    row = await PlaybookVersion.select(PlaybookVersion.number).where(
        PlaybookVersion.number.is_not_null()).order_by(PlaybookVersion.number, ascending=False).first().run()
    return (row["number"] if row else 0) + 1


async def bootstrap(file_text: str, file_pb: Playbook) -> Playbook:
    """The playbook to run with: the file imported as a new version when it changed, else the active one."""
    digest = sha256(file_text)
    for _ in range(3):  # two processes starting at once: one insert wins, the other re-reads
        last_file = await PlaybookVersion.select(PlaybookVersion.sha256).where(
            (PlaybookVersion.status == "published") & (PlaybookVersion.source == "file")).order_by(
            PlaybookVersion.number, ascending=False).first().run()
        if last_file is not None and last_file["sha256"] == digest:
            row = await _latest_published()
            if row is not None:
                try:
                    return _decode(row)
                except PlaybookInvalid:
                    log.error("published playbook version %s does not decode; using the file", row["number"])
                    return file_pb
        try:
            async with write_transaction():
                number = await _next_number()
                now = _utcnow()
                await PlaybookVersion.insert(PlaybookVersion(
                    number=number, status="published", label=file_pb.version, body=file_text, sha256=digest,
                    source="file", note="imported from the playbook file at start", created_at=now,
                    updated_at=now, published_at=now)).run()
                if number > 1:
                    await _replan_open()
            log.info("playbook file imported as version %s", number)
            _decoded[number] = numbered(file_pb, number)
            return _decoded[number]
        except Exception as exc:  # noqa: BLE001 - a unique-number race with another process
            log.info("playbook import raced (%s); reading again", exc)
    raise RuntimeError("could not settle the active playbook version")


async def current(fallback: Playbook) -> Playbook:
    row = await _latest_published()
    if row is None:
        return fallback
    try:
        return _decode(row)
    except PlaybookInvalid:
        return fallback


class Refresher:
    """Per process: swap in a version another process published, checked at most every few seconds."""

    def __init__(self) -> None:
        self.checked = 0.0

    async def refresh(self, state) -> None:
        now = time.monotonic()
        if now - self.checked < REFRESH_SECONDS:
            return
        self.checked = now
        number = await active_number()
        if number is not None and str(number) != state.playbook.version:
            row = await PlaybookVersion.select().where(PlaybookVersion.number == number).first().run()
            if row is not None:
                try:
                    state.playbook = _decode(row)
                except PlaybookInvalid:
                    log.error("published playbook version %s does not decode; keeping the current one", number)


# ---- reading

def _summary(row: dict) -> dict:
    return {"id": row["id"], "number": row["number"], "status": row["status"], "label": row["label"],
            "source": row["source"], "based_on": row["based_on"], "note": row["note"],
            "created_by": sid(row["created_by"]), "created_at": row["created_at"],
            "updated_at": row["updated_at"], "published_by": sid(row["published_by"]),
            "published_at": row["published_at"]}


async def list_versions() -> dict:
    rows = await PlaybookVersion.select(
        *[c for c in PlaybookVersion._meta.columns if c._meta.name != "body"]).order_by(
        PlaybookVersion.id, ascending=False).limit(500).run()
    active = next((r["number"] for r in rows if r["status"] == "published"), None)
    published = sorted((r for r in rows if r["status"] == "published"), key=lambda r: -r["number"])
    return {"active": active, "versions": [_summary(r) for r in published],
            "drafts": [_summary(r) for r in rows if r["status"] == "draft"]}


async def _get(version_id: int) -> dict:
    row = await PlaybookVersion.select().where(PlaybookVersion.id == version_id).first().run()
    if row is None:
        raise not_found("playbook version or draft")
    return row


async def by_number(number: int) -> dict:
    row = await PlaybookVersion.select().where(
        (PlaybookVersion.number == number) & (PlaybookVersion.status == "published")).first().run()
    if row is None:
        raise not_found("published playbook version")
    return row


def _problems(exc: PlaybookInvalid) -> list[dict]:
    return [{"line": p.line, "path": p.path, "message": p.message} for p in exc.problems]


def _document(body: str) -> Any:
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError:
        return None


async def detail(version_id: int) -> dict:
    row = await _get(version_id)
    return {**_summary(row), "body": row["body"], "document": _document(row["body"])}


async def export(number: int) -> tuple[str, str]:
    row = await by_number(number)
    return row["body"], f"playbook-v{number}-{row['label']}.yaml"


# ---- drafts

def _check_body(body: str) -> None:
    if len(body.encode("utf-8")) > MAX_BODY:
        raise ApiError(413, "playbook_too_large", f"A playbook may be at most {MAX_BODY // 1024} KB.")


def _label_of(body: str) -> str:
    doc = _document(body)
    label = doc.get("version") if isinstance(doc, dict) else None
    return str(label)[:64] if label else "draft"


async def create_draft(actor, *, body: str | None, from_number: int | None, source: str, note: str | None,
                       ip: str | None) -> dict:
    if body is None:
        base = await by_number(from_number) if from_number is not None else await _latest_published()
        if base is None:
            raise not_found("published playbook version")
        body, based_on = base["body"], base["number"]
    else:
        based_on = await active_number()
    _check_body(body)
    now = _utcnow()
    async with write_transaction():
        row = await PlaybookVersion.insert(PlaybookVersion(
            status="draft", label=_label_of(body), body=body, sha256=sha256(body), source=source,
            based_on=based_on, note=note, created_by=actor.id, created_at=now, updated_at=now)).returning(
            PlaybookVersion.id).run()
        await audit.record("playbook.draft_created", actor_id=actor.id, target_type="playbook_draft",
                           target_id=row[0]["id"], detail={"source": source, "based_on": based_on}, ip=ip)
    return await detail(row[0]["id"])


async def _draft(draft_id: int) -> dict:
    row = await _get(draft_id)
    if row["status"] != "draft":
        raise ApiError(409, "not_a_draft", "This version is published; published versions are never edited. "
                       "Start a draft from it instead.")
    return row


async def update_draft(actor, draft_id: int, body: str, note: str | None, ip: str | None) -> dict:
    _check_body(body)
    await _draft(draft_id)
    now = _utcnow()
    async with write_transaction():
        values: dict = {PlaybookVersion.body: body, PlaybookVersion.sha256: sha256(body),
                        PlaybookVersion.label: _label_of(body), PlaybookVersion.updated_at: now}
        if note is not None:
            values[PlaybookVersion.note] = note
        await PlaybookVersion.update(values).where(
            (PlaybookVersion.id == draft_id) & (PlaybookVersion.status == "draft")).run()
        await audit.record("playbook.draft_saved", actor_id=actor.id, target_type="playbook_draft",
                           target_id=draft_id, detail={"sha256": sha256(body)}, ip=ip)
    return await detail(draft_id)


async def delete_draft(actor, draft_id: int, ip: str | None) -> None:
    await _draft(draft_id)
    async with write_transaction():
        await PlaybookVersion.delete().where(
            (PlaybookVersion.id == draft_id) & (PlaybookVersion.status == "draft")).run()
        await audit.record("playbook.draft_deleted", actor_id=actor.id, target_type="playbook_draft",
                           target_id=draft_id, ip=ip)


# ---- review: validation, diff, impact

async def open_opportunities() -> list[playbook_diff.OpenOpportunity]:
    rows = await Opportunity.select(
        Opportunity.id, Opportunity.title, Opportunity.stage, Opportunity.substate, Opportunity.fields,
        Opportunity.stage_entered_at, Opportunity.last_contact_at, Opportunity.last_note_at).where(
        Opportunity.status == "open").run()
    present: dict[str, set[str]] = {}
    for a in await Attachment.select(Attachment.opportunity, Attachment.material).where(
            (Attachment.status == "present") & Attachment.material.is_not_null()
            & Attachment.opportunity.is_not_null()).run():
        present.setdefault(str(a["opportunity"]), set()).add(a["material"])
    return [playbook_diff.OpenOpportunity(id=str(r["id"]), title=r["title"],
                                          facts=facts_of(r, frozenset(present.get(str(r["id"]), ()))))
            for r in rows]


async def _titles(ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = await Opportunity.select(Opportunity.id, Opportunity.title).where(Opportunity.id.is_in(list(ids))).run()
    return {str(r["id"]): r["title"] for r in rows}


async def review_body(body: str, active: Playbook) -> dict:
    """Problems (as `salesgate playbook check` lists them), or the diff and impact of a valid body."""
    try:
        draft = parse_playbook(body)
    except PlaybookInvalid as exc:
        return {"valid": False, "problems": _problems(exc), "changes": [], "impact": [], "counts": {},
                "stranded": 0}
    changes = playbook_diff.diff(active, draft)
    # only the stages (their nodes, gates, materials, deadlines, substates) judge open deals: a draft that
    # changes nothing there needs no look at them (every save of the form asks for this review)
    touches_stages = any(c.path == "stages" or c.path.startswith("stages[") for c in changes)
    lines = playbook_diff.impact(active, draft, await open_opportunities()) if touches_stages else []
    titles = await _titles({i for line in lines for i in line.opportunities})
    impact = [{**msgspec.to_builtins(line),
               "opportunities": [{"id": i, "title": titles.get(i, "")} for i in line.opportunities]}
              for line in lines]
    return {"valid": True, "problems": [], "changes": msgspec.to_builtins(changes), "impact": impact,
            "counts": playbook_diff.counts(lines), "stranded": playbook_diff.stranded(lines)}


async def review(draft_id: int, active: Playbook) -> dict:
    row = await _draft(draft_id)
    return {"draft": _summary(row), "active": int(active.version) if active.version.isdigit() else None,
            **await review_body(row["body"], active)}


# ---- publish and restore

async def _replan_open() -> None:
    """Every open opportunity's clocks are planned again by the next deadline run."""
    await Opportunity.update({Opportunity.facts_rev: Opportunity.facts_rev + 1}).where(
        Opportunity.status == "open").run()


async def _publish_body(actor, body: str, *, draft_id: int | None, source: str, note: str | None,
                        expected_active: int | None, ip: str | None, action: str, extra: dict) -> Playbook:
    current_number = await active_number()
    if expected_active is not None and current_number != expected_active:
        raise ApiError(409, "playbook_changed", f"Version {current_number} was published since you reviewed "
                       "this change; review it again before publishing.", {"active": current_number})
    active_row = await _latest_published()
    try:
        draft = parse_playbook(body)
    except PlaybookInvalid as exc:
        raise ApiError(422, "playbook_invalid", f"The playbook has {len(exc.problems)} problem(s); fix them "
                       "before publishing.", {"problems": _problems(exc)}) from None
    if active_row is not None:
        active = _decode(active_row)
        lines = playbook_diff.impact(active, draft, await open_opportunities())
        stuck = playbook_diff.stranded(lines)
        if stuck:
            where = sorted({f"{line.stage}{'/' + line.substate if line.substate else ''}" for line in lines
                            if line.kind == "stranded"})
            raise ApiError(409, "playbook_strands_opportunities",
                           f"{stuck} open opportunit{'y is' if stuck == 1 else 'ies are'} in a step this version "
                           f"removes ({', '.join(where)}); move them or keep the step.",
                           {"stranded": stuck, "steps": where})
        counts = playbook_diff.counts(lines)
        changed = len(playbook_diff.diff(active, draft))
    else:
        counts, changed = {}, 0
    now = _utcnow()
    async with write_transaction():
        number = await _next_number()
        if draft_id is not None:
            done = await PlaybookVersion.update({
                PlaybookVersion.status: "published", PlaybookVersion.number: number,
                PlaybookVersion.published_by: actor.id, PlaybookVersion.published_at: now,
                PlaybookVersion.updated_at: now, PlaybookVersion.label: draft.version,
                **({PlaybookVersion.note: note} if note is not None else {}),
            }).where((PlaybookVersion.id == draft_id) & (PlaybookVersion.status == "draft")).returning(
                PlaybookVersion.id).run()
            if not done:
                raise ApiError(409, "not_a_draft", "This draft was published or deleted by someone else just now.")
        else:
            await PlaybookVersion.insert(PlaybookVersion(
                number=number, status="published", label=draft.version, body=body, sha256=sha256(body),
                source=source, based_on=current_number, note=note, created_by=actor.id, created_at=now,
                updated_at=now, published_by=actor.id, published_at=now)).run()
        await _replan_open()
        await audit.record(action, actor_id=actor.id, target_type="playbook_version", target_id=number,
                           detail={"number": number, "label": draft.version, "previous": current_number,
                                   "changes": changed, "impact": counts, **extra}, ip=ip)
    _decoded[number] = numbered(draft, number)
    return _decoded[number]


async def publish(actor, draft_id: int, note: str | None, expected_active: int | None, ip: str | None) -> Playbook:
    row = await _draft(draft_id)
    return await _publish_body(actor, row["body"], draft_id=draft_id, source=row["source"], note=note,
                               expected_active=expected_active, ip=ip, action="playbook.publish",
                               extra={"draft": draft_id})


async def restore(actor, number: int, note: str | None, expected_active: int | None, ip: str | None) -> Playbook:
    row = await by_number(number)
    return await _publish_body(actor, row["body"], draft_id=None, source="restore",
                               note=note or f"restored from version {number}", expected_active=expected_active,
                               ip=ip, action="playbook.restore", extra={"restored_from": number})
