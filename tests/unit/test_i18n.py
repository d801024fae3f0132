from pathlib import Path

from babel.messages.pofile import read_po

from server import i18n

TRANSLATIONS = Path(__file__).resolve().parents[2] / "pwa" / "translations"


def test_every_message_in_the_template_has_a_chinese_translation():
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        template = read_po(fh)
    with (TRANSLATIONS / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        zh = read_po(fh, locale="zh_CN")
    missing = [m.id for m in template if m.id and not (zh.get(m.id) and zh.get(m.id).string)]
    assert missing == []


def test_locale_switches_the_language_of_gettext():
    i18n.set_locale("zh_CN")
    assert i18n.gettext_("Customers") == "客户"
    i18n.set_locale("en")
    assert i18n.gettext_("Customers") == "Customers"
    i18n.set_locale("xx")  # unknown falls back to the default
    assert i18n.current_locale() == "zh_CN"


def test_pick_locale_prefers_cookie_then_user_then_default():
    assert i18n.pick_locale("en", None, "zh_CN") == "en"
    assert i18n.pick_locale("en", "zh_CN", "zh_CN") == "zh_CN"
    assert i18n.pick_locale(None, None, "zh_CN") == "zh_CN"


def test_every_string_in_the_templates_is_in_the_catalog_template():
    from babel.messages.extract import extract_from_dir

    templates = TRANSLATIONS.parent / "templates"
    found = {msg[2] if isinstance(msg[2], str) else msg[2][0]
             for msg in extract_from_dir(str(templates), method_map=[("**.html", "jinja2")],
                                         options_map={"**.html": {"extensions": "jinja2.ext.i18n"}})}
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        known = {m.id for m in read_po(fh) if m.id}
    assert sorted(found - known) == [], "run pybabel extract and scripts/i18n_fill.py"
