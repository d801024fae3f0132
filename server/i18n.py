"""Translations from Babel catalogs (``pwa/translations/<locale>/LC_MESSAGES/messages.po``).

The .po files are compiled in memory at start, so the repository holds no
binary .mo files. Source strings are English; zh_CN is the default locale.
"""

from __future__ import annotations

import contextvars
import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "pwa" / "translations"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("salesgate_locale", default="zh_CN")
_catalogs: dict[str, gettext.NullTranslations] = {}


def load_catalogs(directory: Path = TRANSLATIONS_DIR) -> dict[str, gettext.NullTranslations]:
    catalogs: dict[str, gettext.NullTranslations] = {}
    for locale in LOCALES:
        po = directory / locale / "LC_MESSAGES" / "messages.po"
        if not po.is_file():
            catalogs[locale] = gettext.NullTranslations()
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        catalogs[locale] = gettext.GNUTranslations(buffer)
    return catalogs


def init() -> None:
    if not _catalogs:
        _catalogs.update(load_catalogs())


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else "zh_CN")


def current_locale() -> str:
    return _current.get()


def gettext_(message: str) -> str:
    init()
    return _catalogs[_current.get()].gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    init()
    return _catalogs[_current.get()].ngettext(singular, plural, n)


def pick_locale(user_locale: str | None, cookie: str | None, default: str) -> str:
    for candidate in (cookie, user_locale, default):
        if candidate in LOCALES:
            return candidate
    return "zh_CN"


def translate(locale: str, message: str) -> str:
    """A message in a given locale, whatever the current request's locale (pushes, chat messages)."""
    init()
    return _catalogs.get(locale, _catalogs["zh_CN"]).gettext(message)
