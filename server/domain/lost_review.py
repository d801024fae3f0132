"""Lost-deal review: how long a lost deal stayed "alive" in the system after the last real customer contact.

A rep who stops talking to a customer but marks the deal lost weeks later hides the loss; the gap between the
last effective customer contact and the last system update (the move to lost) shows it. A team is flagged when
more than a quarter of its lost deals have a gap of more than three days. Pure.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

GAP_DAYS = 3.0
FLAG_SHARE = 0.25


def gap_days(last_contact: datetime | None, lost_at: datetime) -> float | None:
    """Days from the last customer-facing contact to the move to lost; None when there was no contact at all."""
    if last_contact is None:
        return None
    return round(max((lost_at - last_contact).total_seconds(), 0.0) / 86400, 1)


class TeamReview(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    lost: int
    over: int  # lost deals with a gap over GAP_DAYS (or never contacted)
    share: float
    flagged: bool


def review(rows: list[tuple[str, float | None]]) -> list[TeamReview]:
    """Per team: how many lost deals, how many with a gap over three days (never contacted counts as over)."""
    teams: dict[str, list[float | None]] = {}
    for team, gap in rows:
        teams.setdefault(team, []).append(gap)
    out = []
    for team, gaps in sorted(teams.items()):
        over = sum(1 for g in gaps if g is None or g > GAP_DAYS)
        share = round(over / len(gaps), 4)
        out.append(TeamReview(team=team, lost=len(gaps), over=over, share=share, flagged=share > FLAG_SHARE))
    return out
