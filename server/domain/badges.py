"""Trade-show badge QR codes to a lead: vCard 2.1/3.0/4.0, MECARD, labelled text. Pure.

What is read and what is decided:
- name: vCard FN, else built from N (Chinese, Japanese, Korean names family+given with no
  space: 张伟; Latin names "Given Family"); MECARD N, which may be "Family,Given"; the
  name label of labelled text.
- phone: every candidate is normalised to E.164 (mainland numbers without a prefix are
  +86); a mobile one wins (vCard TYPE=CELL in any spelling, a 手机/Mobile label, else the
  number plan's mobile range), a fax or pager loses; invalid numbers are skipped.
- company: the first ORG component. The units after it ("ORG:Acme;Sales;EMEA") are
  dropped: a lead has no department field, and a company name with units glued on would
  not equal the same company read from the next badge (search and merging look at it).
- email: lower-cased, loosely checked (something@something.tld, at most 254 characters).
- vCard 2.1 folding keeps the white space after the line break (RFC 822 folding); 3.0
  and 4.0 drop one space or tab (RFC 2425/6350). Quoted-printable soft line breaks are
  joined first. A vCard without END:VCARD is read as far as it goes; a cut-off phone
  number or address then fails its check and is left out.
Anything with no name, no phone and no e-mail is refused, as are empty payloads,
binary junk and payloads over 4 KB.
"""

from __future__ import annotations

import quopri
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from server.domain.phones import is_mobile, phone_or_none

MAX_BYTES = 4096
LIMITS = {"name": 200, "company": 200, "title": 100}
Format = Literal["vcard", "mecard", "text"]


class Lead(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    email: str | None = None
    format: Format = "text"


class PayloadUnrecognised(ValueError):
    """The payload is not a contact; ``reason`` is a machine word, the message a sentence."""

    def __init__(self, message: str, reason: str = "no_contact"):
        super().__init__(message)
        self.reason = reason


@dataclass
class _Found:
    """What a format reader collected, before cleaning. Ranks: higher wins, then order."""

    name: str | None = None
    phones: list[tuple[int, str]] = field(default_factory=list)
    emails: list[tuple[int, str]] = field(default_factory=list)
    company: str | None = None
    title: str | None = None


_JUNK = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ufffe\uffff\ud800-\udfff]")
_INVISIBLE = re.compile("[\ufeff\u200b-\u200d\u2060]")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_GAP = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
_HAS_CJK = re.compile(f"[{_CJK}]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_VCARD_START = re.compile(r"^[ \t]*BEGIN:VCARD[ \t]*$", re.I | re.M)


def parse_badge(payload: str) -> Lead:
    """The lead in a badge's QR text; raises PayloadUnrecognised with a sentence."""
    text = _checked(payload)
    start = _VCARD_START.search(text)
    if start:
        return _finish(_read_vcard(text[start.start():]), "vcard")
    if text[:7].upper() == "MECARD:":
        return _finish(_read_mecard(text[7:]), "mecard")
    return _finish(_read_text(text), "text")


def _checked(payload: str) -> str:
    if len(payload.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise PayloadUnrecognised(
            "The scanned code is larger than 4 KB (4096 bytes); a badge holds far less, so it is not one.",
            "too_large")
    text = _INVISIBLE.sub("", payload).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise PayloadUnrecognised("The scanned code is empty.", "empty")
    if _JUNK.search(text):
        raise PayloadUnrecognised("The scanned code holds binary data or control characters, not contact details.",
                                  "binary")
    return text


# ---- cleaning and choosing

def _finish(found: _Found, fmt: Format) -> Lead:
    phone, bad_phone = _pick_phone(found.phones)
    email = _pick_email(found.emails)
    name = _clean(found.name, LIMITS["name"])
    if not (name or phone or email):
        if bad_phone:
            raise PayloadUnrecognised(f"The phone number {bad_phone!r} in the scanned code is not valid, "
                                      "and the code has no name or e-mail address.")
        raise PayloadUnrecognised("The scanned code has no name, phone number or e-mail address that could be read.")
    return Lead(name=name, phone=phone, company=_clean(found.company, LIMITS["company"]),
                title=_clean(found.title, LIMITS["title"]), email=email, format=fmt)


def _clean(value: str | None, limit: int) -> str | None:
    """One line, single spaces, no gaps inside CJK names ("张 伟" → "张伟"), cut to the column size."""
    if value is None:
        return None
    text = _CJK_GAP.sub("", " ".join(value.split()))
    return text[:limit].rstrip() or None


def _pick_phone(candidates: list[tuple[int, str]]) -> tuple[str | None, str | None]:
    """(best valid E.164 number, first invalid raw text): a higher rank wins, then a mobile number."""
    best, best_key, bad = None, None, None
    for rank, raw in candidates:
        raw = raw.strip()
        number = phone_or_none(unicodedata.normalize("NFKC", raw)) if raw else None
        if number is None:
            bad = bad or raw[:40] or None
            continue
        key = (rank, is_mobile(number))
        if best_key is None or key > best_key:
            best, best_key = number, key
    return best, bad


def _pick_email(candidates: list[tuple[int, str]]) -> str | None:
    best, best_rank = None, None
    for rank, raw in candidates:
        text = unicodedata.normalize("NFKC", raw).strip().lower().removeprefix("mailto:")
        if len(text) <= 254 and _EMAIL.match(text) and (best_rank is None or rank > best_rank):
            best, best_rank = text, rank
    return best


def _join_name(family: str, given: str) -> str | None:
    family, given = family.strip(), given.strip()
    if _HAS_CJK.search(family + given):
        return (family + given) or None
    return " ".join(p for p in (given, family) if p) or None


def _split_escaped(text: str, sep: str) -> list[str]:
    """Split on ``sep`` except where a backslash escapes it; the escapes stay for _unescape."""
    parts, current, i = [], [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        if text[i] == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(text[i])
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(text: str, newlines: bool = True) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if newlines and m.group(1) in "nN" else m.group(1), text, flags=re.S)


# ---- vCard

_CELL = {"cell", "mobile", "iphone", "x-mobile", "x-cell"}
_NOT_VOICE = {"fax", "pager", "textphone"}
_BARE_ENCODINGS = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"}
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030"}


def _read_vcard(text: str) -> _Found:
    found, n_name = _Found(), None
    for line in _logical_lines(text)[1:]:
        prop = _property(line)
        if prop is None:
            continue
        name, params, types, raw = prop
        if name == "END" and raw.strip().upper() == "VCARD":
            break
        if name not in ("FN", "N", "TEL", "EMAIL", "ORG", "TITLE"):
            continue
        value = _decode(raw, params)
        if value is None:
            continue
        if name == "FN" and found.name is None and value.strip():
            found.name = _unescape(value)
        elif name == "N" and n_name is None:
            parts = [_unescape(p) for p in _split_escaped(value, ";")] + ["", ""]
            n_name = _join_name(parts[0], parts[1])
        elif name == "TEL":
            found.phones.append((_tel_rank(types), _unescape(value)))
        elif name == "EMAIL":
            found.emails.append((int("pref" in types), _unescape(value)))
        elif name == "ORG" and found.company is None:
            found.company = _unescape(_split_escaped(value, ";")[0])
        elif name == "TITLE" and found.title is None:
            found.title = _unescape(value)
    found.name = found.name or n_name
    return found


def _logical_lines(text: str) -> list[str]:
    """Join quoted-printable soft line breaks, then folded lines (see the module notes)."""
    lines = text.split("\n")
    keep_space = any(line.strip().upper() == "VERSION:2.1" for line in lines)
    out: list[str] = []
    for line in lines:
        if out and out[-1].endswith("=") and _is_qp(out[-1]):
            out[-1] = out[-1][:-1] + line
        elif out and line[:1] in (" ", "\t"):
            out[-1] += line if keep_space else line[1:]
        else:
            out.append(line)
    return out


def _is_qp(line: str) -> bool:
    colon = _unquoted_index(line, ":")
    return colon >= 0 and "QUOTED-PRINTABLE" in line[:colon].upper()


def _unquoted_index(text: str, char: str) -> int:
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == char and not quoted:
            return i
    return -1


def _property(line: str) -> tuple[str, dict[str, str], set[str], str] | None:
    """``[group.]NAME[;param…]:value`` → (NAME, params, types in lower case, raw value)."""
    colon = _unquoted_index(line, ":")
    if colon <= 0:
        return None
    head = re.split(r';(?=(?:[^"]*"[^"]*")*[^"]*$)', line[:colon])
    name = head[0].strip().upper().rsplit(".", 1)[-1]  # item1.TEL → TEL
    params: dict[str, str] = {}
    types: set[str] = set()
    for param in head[1:]:
        key, eq, val = param.partition("=")
        key, val = key.strip().upper(), val.strip().strip('"')
        if not eq:
            if key in _BARE_ENCODINGS:
                params["ENCODING"] = key
            else:
                types.add(key.lower())  # vCard 2.1: TEL;CELL;VOICE:
        elif key == "TYPE":
            types.update(t.strip().lower() for t in val.split(",") if t.strip())
        elif key == "PREF":
            types.add("pref")
        else:
            params[key] = val
    return name, params, types, line[colon + 1:]


def _decode(raw: str, params: dict[str, str]) -> str | None:
    encoding = params.get("ENCODING", "").upper()
    if encoding in ("B", "BASE64"):
        return None  # photos and keys: a lead does not need them
    if encoding != "QUOTED-PRINTABLE":
        return raw
    charset = params.get("CHARSET", "utf-8").lower()
    try:
        return quopri.decodestring(raw.encode("utf-8")).decode(_CHARSET_ALIASES.get(charset, charset))
    except (LookupError, UnicodeDecodeError):
        raise PayloadUnrecognised(f"The vCard's quoted-printable text is not valid {charset.upper()} text.",
                                  "bad_encoding") from None


def _tel_rank(types: set[str]) -> int:
    kind = 2 if types & _CELL else 0 if types & _NOT_VOICE else 1
    return kind * 2 + ("pref" in types)


# ---- MECARD

def _read_mecard(body: str) -> _Found:
    """``N:…;TEL:…;EMAIL:…;ORG:…;TITLE:…;;`` with the escapes ``\\; \\: \\\\ \\,``."""
    found = _Found()
    for item in _split_escaped(body.replace("\n", ""), ";"):
        parts = _split_escaped(item, ":")
        if len(parts) < 2:
            continue
        key, value = parts[0].strip().upper(), ":".join(parts[1:])
        if key == "N" and found.name is None:
            names = [_unescape(p, newlines=False) for p in _split_escaped(value, ",")]
            found.name = _join_name(names[0], names[1]) if len(names) == 2 else _unescape(value, newlines=False)
        elif key in ("TEL", "TEL-AV"):
            found.phones.append((1, _unescape(value, newlines=False)))
        elif key == "EMAIL":
            found.emails.append((0, _unescape(value, newlines=False)))
        elif key == "ORG" and found.company is None:
            found.company = _unescape(value, newlines=False)
        elif key == "TITLE" and found.title is None:
            found.title = _unescape(value, newlines=False)
    return found


# ---- labelled text

_LABELS: dict[str, tuple[str, int]] = {
    **dict.fromkeys(("姓名", "名字", "name", "fullname", "联系人"), ("name", 0)),
    **dict.fromkeys(("手机", "手机号", "手机号码", "mobile", "mobilephone", "cell", "cellphone"), ("phone", 2)),
    **dict.fromkeys(("电话", "电话号码", "tel", "phone", "telephone"), ("phone", 1)),
    **dict.fromkeys(("公司", "单位", "公司名称", "单位名称", "company", "organisation", "organization"),
                    ("company", 0)),
    **dict.fromkeys(("职位", "职务", "title", "jobtitle", "position"), ("title", 0)),
    **dict.fromkeys(("邮箱", "电子邮箱", "email", "mail"), ("email", 0)),
}
_ITEM_SPLIT = re.compile(r"[\n;；|｜]")
_LABEL_SPLIT = re.compile(r"[:：]")


def _read_text(text: str) -> _Found:
    """``Label: value`` items (``:`` or ``：``) separated by new lines, ``;``, ``；`` or ``|``."""
    found = _Found()
    for item in _ITEM_SPLIT.split(text):
        parts = _LABEL_SPLIT.split(item, maxsplit=1)
        if len(parts) != 2:
            continue
        label = re.sub(r"[\s_-]", "", parts[0]).casefold()
        what, rank = _LABELS.get(label, (None, 0))
        value = parts[1].strip()
        if what == "phone":
            found.phones.append((rank, value))
        elif what == "email":
            found.emails.append((0, value))
        elif what is not None and getattr(found, what) is None and value:
            setattr(found, what, value)
    return found
