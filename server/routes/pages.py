"""Server-rendered pages of the PWA shell (Jinja), the service worker and the manifest.

Pages use the same query functions as the JSON API. Forms are sent by
``app.js`` to the JSON API, so there is one write path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from server import i18n
from server.domain.access import Viewer
from server.errors import ApiError
from server.queries import activities, customers

PWA_DIR = Path(__file__).resolve().parent.parent.parent / "pwa"
STATIC_DIR = PWA_DIR / "static"
TEMPLATES_DIR = PWA_DIR / "templates"
PUBLIC = {"exclude_from_auth": True}
LANG_COOKIE = "sg_lang"

_env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]),
                   extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
_env.install_gettext_callables(gettext=i18n.gettext_, ngettext=i18n.ngettext_, newstyle=True)  # type: ignore[attr-defined]


def _fmt_dt(value, tz) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def render(request: Request, template: str, *, status: int = 200, **context) -> Response:
    settings = request.app.state.settings
    viewer = request.scope.get("user")
    locale = i18n.pick_locale(getattr(viewer, "locale", None), request.cookies.get(LANG_COOKIE),
                              settings.default_locale)
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
    return render(request, "customer.html", customer=customer, activities=log.items, tab="customers")


@get("/workbench", include_in_schema=False)
async def workbench_page(request: Request) -> Response:
    return render(request, "coming.html", tab="workbench", title_key="workbench")


@get("/scan", include_in_schema=False)
async def scan_page(request: Request) -> Response:
    return render(request, "coming.html", tab="scan", title_key="scan")


@get("/entry", include_in_schema=False)
async def entry_page(request: Request) -> Response:
    return render(request, "entry.html", tab="entry")


@get("/me", include_in_schema=False)
async def me_page(request: Request) -> Response:
    return render(request, "me.html", tab="me")


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
                 customer_page, workbench_page, scan_page, entry_page, me_page, service_worker, manifest]
