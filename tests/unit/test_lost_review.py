from datetime import datetime, timedelta, timezone

from server.domain.lost_review import gap_days, review

T = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def test_gap_is_days_from_the_last_contact_to_the_move_to_lost():
    assert gap_days(T - timedelta(days=5, hours=12), T) == 5.5
    assert gap_days(T, T) == 0.0
    assert gap_days(T + timedelta(hours=2), T) == 0.0  # a contact logged after the move does not count backwards
    assert gap_days(None, T) is None


def test_teams_with_more_than_a_quarter_over_three_days_are_flagged():
    rows = [("华东", 1.0), ("华东", 2.5), ("华东", 3.0), ("华东", 4.0),   # 1 of 4 over: 25 %, not more
            ("华南", 10.0), ("华南", None), ("华南", 0.5)]                 # 2 of 3 (never contacted counts)
    east, south = review(rows)
    assert (east.team, east.lost, east.over, east.share, east.flagged) == ("华东", 4, 1, 0.25, False)
    assert (south.team, south.lost, south.over, south.share, south.flagged) == ("华南", 3, 2, 0.6667, True)
    assert review([]) == []
