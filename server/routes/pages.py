"""Server-rendered pages of the PWA shell (Jinja), the service worker and the manifest.

Pages use the same query functions as the JSON API. Forms are sent by
``app.js`` to the JSON API, so there is one write path.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
import uuid
from pathlib import Path
from typing import Annotated

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect
from piccolo.query.functions.aggregate import Count

from server import i18n
from server.domain.access import Viewer, scope_for
from server.domain.gates import next_step
from server.domain.playbook import Playbook
from server.errors import ApiError
from server.queries import activities, attachments, collab, customers, inbox, opp_facts, opportunities
from server.queries import scope as access
from server.queries.common import utcnow
from server.tables import Opportunity, User

PWA_DIR = Path(__file__).resolve().parent.parent.parent / "pwa"
STATIC_DIR = PWA_DIR / "static"
TEMPLATES_DIR = PWA_DIR / "templates"
PUBLIC = {"exclude_from_auth": True}
LANG_COOKIE = "sg_lang"

_env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]),
                   extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
_env.install_gettext_callables(gettext=i18n.gettext_, ngettext=i18n.ngettext_, newstyle=True)  # type: ignore[attr-defined]


def _money(value) -> str:
    if value is None:
        return ""
    return f"¥{value:,.0f}" if float(value).is_integer() else f"¥{value:,.2f}"


def _filesize(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


_env.filters["money"] = _money
_env.filters["filesize"] = _filesize

# --- Static files: versioned URLs, cached for a year; plain URLs revalidated every time ---------------
STATIC_IMMUTABLE = b"public, max-age=31536000, immutable"
STATIC_REVALIDATE = b"no-cache"
_versions: dict[str, tuple[tuple[int, int], str]] = {}


def static_version(name: str) -> str | None:
    """A short hash of ``pwa/static/<name>``'s content (None if there is no such file); re-read
    when the file's mtime or size changes, so an edited file gets a new URL without a restart."""
    path = (STATIC_DIR / name).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        return None
    stat = path.stat()
    key = (stat.st_mtime_ns, stat.st_size)
    hit = _versions.get(name)
    if hit is None or hit[0] != key:
        hit = (key, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
        _versions[name] = hit
    return hit[1]


def static_url(name: str) -> str:
    """``/static/<name>?v=<content hash>`` for templates: a new file is a new URL, so it may be cached for
    good (the service worker strips the query for its own cache key, pwa/sw.js)."""
    version = static_version(name)
    return f"/static/{name}?v={version}" if version else f"/static/{name}"


def static_cache_control(path: str, query: bytes) -> bytes:
    """Cache-Control for a /static answer: a year, immutable, when the URL carries the file's current
    version; otherwise revalidate (its ETag) every time, so a deploy is never hidden by a cache."""
    name = path[len("/static/"):]
    for part in query.split(b"&"):
        if part.startswith(b"v=") and part[2:].decode(errors="replace") == static_version(name):
            return STATIC_IMMUTABLE
    return STATIC_REVALIDATE


def static_cache_headers():
    """before_send hook: sets Cache-Control on successful /static answers (see static_cache_control)."""
    async def add_cache_control(message, scope) -> None:
        if message["type"] != "http.response.start" or not scope.get("path", "").startswith("/static/"):
            return
        if message.get("status") not in (200, 304):
            return
        headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
        headers.append((b"cache-control", static_cache_control(scope["path"], scope.get("query_string", b""))))
        message["headers"] = headers

    return add_cache_control


_env.globals["static_url"] = static_url


def _fmt_dt(value, tz) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def request_locale(request: Request) -> str:
    """The page's language: the language cookie, else the user's choice, else the default."""
    viewer = request.scope.get("user")
    return i18n.pick_locale(getattr(viewer, "locale", None), request.cookies.get(LANG_COOKIE),
                            request.app.state.settings.default_locale)


def render(request: Request, template: str, *, status: int = 200, **context) -> Response:
    settings = request.app.state.settings
    locale = request_locale(request)
    viewer = request.scope.get("user")
    if getattr(viewer, "must_change_password", False) and template != "password.html":
        # an admin set a temporary password: nothing else until it is changed (routes/account.py)
        return Redirect(f"/password?next={request.url.path}", status_code=303)
    i18n.set_locale(locale)
    html = _env.get_template(template).render(
        viewer=viewer, locale=locale, lang_tag=locale.replace("_", "-"), path=request.url.path,
        fmt_dt=lambda v: _fmt_dt(v, settings.tz), **context,
    )
    return Response(html, status_code=status, media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store" if viewer else "no-cache"})


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/customers", status_code=302)


@get("/login", opt=PUBLIC, include_in_schema=False)
async def login_page(request: Request, next: Annotated[str | None, QueryParameter(name="next")] = None) -> Response:
    target = next if next and next.startswith("/") and not next.startswith("//") else "/customers"
    return render(request, "login.html", next=target)


@get("/offline", opt=PUBLIC, include_in_schema=False)
async def offline_page(request: Request) -> Response:
    return render(request, "offline.html")


@get("/lang/{locale:str}", opt=PUBLIC, include_in_schema=False)
async def switch_language(request: Request, locale: FromPath[str],
                          next: Annotated[str | None, QueryParameter(name="next")] = None) -> Response:
    if locale not in i18n.LOCALES:
        raise ApiError(404, "not_found", "No such language.")
    target = next if next and next.startswith("/") and not next.startswith("//") else "/customers"
    return Redirect(target, status_code=303,
                    cookies=[Cookie(key=LANG_COOKIE, value=locale, max_age=365 * 86400, samesite="lax", path="/")])


@get("/customers", include_in_schema=False)
async def customers_page(request: Request[Viewer, str, object],
                         q: Annotated[str | None, QueryParameter(max_length=200)] = None,
                         cursor: Annotated[str | None, QueryParameter(max_length=500)] = None) -> Response:
    page = await customers.search_customers(request.user, q, cursor)
    return render(request, "customers.html", page=page, q=q or "", tab="customers")


@get("/customers/new", include_in_schema=False)
async def new_customer_page(request: Request) -> Response:
    return render(request, "customer_new.html", tab="entry")


@get("/customers/{customer_id:str}", include_in_schema=False)
async def customer_page(request: Request[Viewer, str, object], customer_id: FromPath[str]) -> Response:
    customer = await customers.get_customer(request.user, customer_id)
    log = await activities.list_activities(request.user, customer_id, limit=50)
    deals = await _customer_opportunities(request.user, customer.id)
    return render(request, "customer.html", customer=customer, activities=log.items, opportunities=deals,
                  names=_names(request.app.state.playbook, request_locale(request)), tab="customers")


# --- Opportunities: the pipeline list and one opportunity with its responsibility map -----------------

_ = i18n.gettext_  # marks the strings below for pybabel; called while the page's locale is set
ACCEPT = {"pdf": ".pdf,application/pdf", "jpeg": ".jpg,.jpeg,image/jpeg", "png": ".png,image/png",
          "webp": ".webp,image/webp", "heic": ".heic,.heif,image/heic,image/heif",
          "xlsx": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
IMAGE_TYPES = {"jpeg", "png", "webp", "heic"}


def _names(pb: Playbook, locale: str) -> dict[str, dict[str, str]]:
    """Playbook keys → names in the page's language, for stages, substates, nodes, materials, fields."""
    def pick(text) -> str:
        return text.pick(locale)
    return {
        "stage": {s.key: pick(s.name) for s in pb.stages},
        "substate": {k: pick(t) for s in pb.stages for k, t in s.substate_names.items()},
        "node": {n.key: pick(n.name) for _s, n in pb.nodes},
        "material": {m.key: pick(m.name) for _s, n in pb.nodes for m in n.materials},
        "field": {f.key: pick(f.name) for f in pb.fields},
    }


def role_names() -> dict[str, str]:
    return {"rep": _("Sales rep"), "manager": _("Manager"), "presales": _("Presales"), "delivery": _("Delivery"),
            "service": _("Service"), "commercial": _("Commercial"), "legal": _("Legal"), "admin": _("Admin")}


def heat_rows(heat) -> list[tuple[str, list[int], list[int]]]:
    """(stage, counts per role, shade 0-4 per role) for the stages that have any contribution."""
    top = max((c for row in heat.counts for c in row), default=0)
    rows = []
    for i, stage in enumerate(heat.stages):
        counts = [heat.counts[r][i] for r in range(len(heat.roles))]
        if any(counts):
            rows.append((stage, counts, [0 if not c else 1 + (3 * c) // max(top, 1) if c < top else 4
                                         for c in counts]))
    return rows


def _relation_labels(who: dict[str, str | None], names: dict[str, str]) -> dict[str, str]:
    """Relation (owner, role:presales, …) → "售前 孙晓峰", "李销售" or "法务（未指定）"."""
    roles = role_names()
    fixed = {"owner": _("Owner"), "owner.manager": _("Direct manager"),
             "owner.manager.manager": _("Second-level manager")}
    out = {}
    for relation, user_id in who.items():
        name = names.get(user_id) if user_id else None
        if relation.startswith("role:"):
            role = roles.get(relation[5:], relation[5:])
            out[relation] = f"{role} {name}" if name else _("%(who)s (unassigned)") % {"who": role}
        elif relation.startswith("user:"):
            out[relation] = name or relation[5:]
        else:
            out[relation] = name or _("%(who)s (unassigned)") % {"who": fixed.get(relation, relation)}
    return out


async def _user_names(ids) -> dict[str, str]:
    wanted = [uuid.UUID(i) for i in {i for i in ids if i}]
    if not wanted:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(wanted)).run()
    return {str(r["id"]): r["display_name"] for r in rows}


async def _customer_opportunities(viewer: Viewer, customer_id: str) -> list[dict]:
    """The customer's opportunities the viewer may see (get_customer has checked the customer)."""
    where = await access.opportunity_where(scope_for(viewer))
    query = Opportunity.select(Opportunity.id, Opportunity.title, Opportunity.amount, Opportunity.stage,
                               Opportunity.substate, Opportunity.status).where(
        Opportunity.customer == uuid.UUID(customer_id))
    rows = await access.apply(query, where).order_by(Opportunity.updated_at, ascending=False).limit(50).run()
    return [{**r, "id": str(r["id"])} for r in rows]


async def _stage_counts(viewer: Viewer, owner_id: str | None) -> dict[str, int]:
    where = await access.opportunity_where(scope_for(viewer))
    query = access.apply(Opportunity.select(Opportunity.stage, Count()).group_by(Opportunity.stage), where)
    if owner_id:
        query = query.where(Opportunity.owner == uuid.UUID(owner_id))
    return {r["stage"]: r["count"] for r in await query.run()}


async def _owner_choices(viewer: Viewer) -> list[dict]:
    """People whose pipeline the viewer may filter by: everyone for an admin, their people for a manager."""
    if viewer.is_admin:
        query = User.select(User.id, User.display_name).where(User.active == True)  # noqa: E712
    elif viewer.is_manager:
        ids = [uuid.UUID(i) for i in (viewer.id, *viewer.report_ids)]
        clause = User.id.is_in(ids)
        if viewer.managed_team_ids:
            clause = clause | User.team.is_in([uuid.UUID(t) for t in viewer.managed_team_ids])
        query = User.select(User.id, User.display_name).where(clause)
    else:
        return []
    rows = await query.order_by(User.display_name).limit(300).run()
    return [{"id": str(r["id"]), "name": r["display_name"]} for r in rows]


def _uuid_or_none(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


@get("/opportunities", include_in_schema=False)
async def pipeline_page(request: Request[Viewer, str, object],
                        stage: Annotated[str | None, QueryParameter(max_length=64)] = None,
                        owner_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
                        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None) -> Response:
    pb = request.app.state.playbook
    stage = stage if stage and pb.stage(stage) else None
    owner_id = _uuid_or_none(owner_id)
    page = await opportunities.list_opportunities(request.user, stage, owner_id, cursor)
    return render(request, "pipeline.html", page=page, stage=stage, owner_id=owner_id or "", stages=pb.stages,
                  counts=await _stage_counts(request.user, owner_id), owners=await _owner_choices(request.user),
                  names=_names(pb, request_locale(request)), now=utcnow(), tab="customers")


@get("/opportunities/{opp_id:str}", include_in_schema=False)
async def opportunity_page(request: Request[Viewer, str, object], opp_id: FromPath[str]) -> Response:
    pb, locale = request.app.state.playbook, request_locale(request)
    opp = await opportunities.get_opportunity(request.user, opp_id, pb, request.app.state.settings.tz, locale)
    files = await attachments.list_for_opportunity(request.user, opp_id)
    who = await opp_facts.resolve_relations(pb, opp.owner_id)
    i18n.set_locale(locale)
    people = _relation_labels(who, await _user_names(who.values()))
    materials = {m.key: {"types": list(m.types), "max_bytes": int(m.max_mb * 1024 * 1024),
                         "accept": ",".join(ACCEPT[t] for t in m.types),
                         "camera": bool(IMAGE_TYPES & set(m.types))}
                 for _s, n in pb.nodes for m in n.materials}
    contribs = await collab.list_contributions(request.user, opp_id, pb, locale)
    return render(request, "opportunity.html", opp=opp, files=files, people=people, materials=materials,
                  next_step=next_step(pb, opp.stage, opp.substate), stages=pb.stages,
                  field_types={f.key: f.type for f in pb.fields}, names=_names(pb, locale), tab="customers",
                  contribs=contribs, heat=heat_rows(contribs.heat), role_names=role_names(),
                  kinds=[(k.key, k.name.pick(locale)) for k in pb.contribution_kinds])


@get("/scan", include_in_schema=False)
async def scan_page(request: Request) -> Response:
    return render(request, "scan.html", tab="scan")


@get("/outbox", include_in_schema=False)
async def outbox_page(request: Request) -> Response:
    """Entries saved on the phone that wait to be sent, or that the server refused (pwa/static/outbox.js)."""
    return render(request, "outbox.html")


@get("/entry", include_in_schema=False)
async def entry_page(request: Request) -> Response:
    """The quick-entry scenarios of the playbook (an admin adds one without code)."""
    locale = request_locale(request)
    entries = [{"key": t.key, "name": t.name.pick(locale), "scenario": t.scenario,
                "href": "/scan" if t.scenario == "trade_show" else f"/entry/{t.key}"}
               for t in request.app.state.playbook.templates]
    return render(request, "entry.html", tab="entry", entries=entries)


@get("/me", include_in_schema=False)
async def me_page(request: Request) -> Response:
    return render(request, "me.html", tab="me")


@get("/checkin", include_in_schema=False)
async def checkin_page(request: Request[Viewer, str, object]) -> Response:
    """Today's three things; for managers also who in their teams has checked in."""
    viewer, tz = request.user, request.app.state.settings.tz
    today = datetime.now(tz).date()
    mine = await collab.my_checkin(viewer, today)
    team = await collab.team_checkins(viewer, today) if viewer.is_manager or viewer.is_admin else None
    people = await User.select(User.id, User.display_name, User.team).where(
        (User.active == True) & (User.id != viewer.id)).order_by(User.display_name).run()  # noqa: E712
    mates = sorted(people, key=lambda u: (str(u["team"]) != str(viewer.team_id), u["display_name"]))
    return render(request, "checkin.html", tab="me", mine=mine, team=team, today=today,
                  colleagues=[{"id": str(u["id"]), "name": u["display_name"]} for u in mates])


@get("/inbox", include_in_schema=False)
async def inbox_page(request: Request[Viewer, str, object]) -> Response:
    """Every alert the viewer received (the same list as GET /api/v1/inbox); inbox.js marks them read."""
    state = request.app.state
    page = await inbox.list_inbox(request.user, state.playbook, state.settings.tz, request_locale(request))
    return render(request, "inbox.html", page=page)


_SW = (PWA_DIR / "sw.js")


@get("/sw.js", opt=PUBLIC, include_in_schema=False)
async def service_worker() -> Response:
    return Response(_SW.read_bytes(), media_type="application/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})


@get("/manifest.webmanifest", opt=PUBLIC, include_in_schema=False)
async def manifest() -> Response:
    data = {
        "name": "Salesgate 销售守门员",
        "short_name": "Salesgate",
        "description": "用规则代替催促 — sales actions guarded by rules",
        "lang": "zh-CN",
        "start_url": "/customers",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f5f7f6",
        "theme_color": "#0f766e",
        "icons": [
            {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": "/static/icons/maskable-192.png", "sizes": "192x192", "type": "image/png", "purpose": "maskable"},
            {"src": "/static/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }
    return Response(json.dumps(data, ensure_ascii=False), media_type="application/manifest+json",
                    headers={"Cache-Control": "no-cache"})


PAGE_HANDLERS = [home, login_page, offline_page, switch_language, customers_page, new_customer_page,
                 customer_page, pipeline_page, opportunity_page, scan_page, entry_page, me_page,
                 outbox_page, inbox_page, checkin_page, service_worker, manifest]
