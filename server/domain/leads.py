"""Trade-show scans: what a scanned lead becomes. Pure; the badge parsing is in badges.py.

A scan is recorded as a ``meeting`` activity: the rep talked with the visitor face to
face at the booth, which is customer-facing and ends silence. The playbook's kinds
(call, visit, meeting, message, note) already cover it, so no new kind is added.

Merging. A person already known to the organisation (same E.164 phone or same
lower-cased e-mail on a customer or one of its contacts) is never created twice,
whoever owns them. When the scanning user may see that customer, the answer names it
(``merged: true``, its ``customer_id``) and empty fields of the customer are filled from
the badge. When the customer belongs to someone the scanner may not see (another
rep, another team), the scan is still recorded on it as an activity, so its owner
learns the visitor came to the booth and what they asked about; the scanner gets
``merged: true`` with ``customer_id: null`` and ``visible: false`` — no id, no name, no
owner, nothing of the record. The one thing it tells is that the organisation already
knows the person, which is what keeps a second rep from opening a duplicate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from server.domain.badges import Lead

SCAN_KIND = "meeting"
SOURCE = "trade_show"
NAME_LIMIT = 200
Temperature = Literal["hot", "warm", "cold"]

_LABELS = {
    "zh_CN": {"scan": "展会扫码", "products": "意向产品", "temperature": "意向程度", "note": "备注",
              "hot": "高", "warm": "中", "cold": "低", "sep": "：", "list": "、"},
    "en": {"scan": "Trade-show scan", "products": "Products of interest", "temperature": "Interest",
           "note": "Note", "hot": "hot", "warm": "warm", "cold": "cold", "sep": ": ", "list": ", "},
}


class UnknownProducts(ValueError):
    def __init__(self, unknown: list[str], known: list[str]):
        names = ", ".join(repr(u) for u in unknown)
        super().__init__(f"Unknown product{'s' if len(unknown) > 1 else ''} {names}; "
                         f"the catalogue has {', '.join(known) or 'no products'}.")
        self.unknown = unknown


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A customer who matches a lead: whether the scanner may see it, and how it matched."""

    customer_id: str
    visible: bool
    created_at: datetime
    on_customer_row: bool  # matched the customer's own phone/e-mail, not one of its contacts


def check_products(requested: list[str] | None, catalogue: list[str]) -> list[str]:
    """The requested product keys, each once, in order; refuses keys not in the catalogue."""
    wanted = list(dict.fromkeys(p.strip() for p in requested or [] if p.strip()))
    unknown = [p for p in wanted if p not in catalogue]
    if unknown:
        raise UnknownProducts(unknown, catalogue)
    return wanted


def choose_match(candidates: list[Candidate]) -> Candidate | None:
    """A customer the scanner may see wins over one they may not; then the oldest record."""
    if not candidates:
        return None
    return min(candidates, key=lambda c: (not c.visible, c.created_at, c.customer_id))


def customer_name(lead: Lead) -> str:
    """A badge without a name still makes a customer; it is called by what is known."""
    return (lead.name or lead.company or lead.email or lead.phone or "?")[:NAME_LIMIT]


def fields_to_fill(existing: dict[str, str | None], lead: Lead, match: Candidate) -> dict[str, str]:
    """Empty fields of a visible customer that the badge can fill; nothing is overwritten.
    A match through a contact fills nothing: that contact's phone is not the customer's."""
    if not (match.visible and match.on_customer_row):
        return {}
    offered = {"phone": lead.phone, "email": lead.email, "company": lead.company, "title": lead.title}
    return {k: v for k, v in offered.items() if v and not existing.get(k)}


def identity_keys(lead: Lead) -> list[str]:
    """What identifies the person (for the lock that keeps two scans from both creating them)."""
    return sorted(k for k in (f"phone:{lead.phone}" if lead.phone else None,
                              f"email:{lead.email}" if lead.email else None) if k)


def scan_note(*, event: str | None, products: list[str], temperature: Temperature | None,
              note: str | None, locale: str) -> str:
    """The activity note, one line a fact, in the scanner's language; products are display names."""
    words = _LABELS.get(locale, _LABELS["en"])
    sep = words["sep"]
    lines = [words["scan"] + (f"{sep}{event.strip()}" if event and event.strip() else "")]
    if products:
        lines.append(f"{words['products']}{sep}{words['list'].join(products)}")
    if temperature:
        lines.append(f"{words['temperature']}{sep}{words[temperature]}")
    if note and note.strip():
        lines.append(f"{words['note']}{sep}{note.strip()}")
    return "\n".join(lines)
