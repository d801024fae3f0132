"""The manager board's pure rules: a key-account node's state and colour, the kickoff-meeting rate, pin limits."""

from datetime import datetime, timedelta, timezone

from server.domain import board

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


def test_a_nodes_state_and_colour():
    cases = [
        ("done", None, "done", "green"),
        ("pending", NOW + 25 * H, "open", "yellow"),
        ("pending", NOW + 24 * H, "due_soon", "yellow"),
        ("pending", NOW + H, "due_soon", "yellow"),
        ("pending", None, "open", "yellow"),  # in play without a deadline: owed, not late
        ("overdue", NOW - H, "overdue", "red"),
        ("skipped", None, "skipped", "red"),
        ("ahead", None, "not_reached", "grey"),
        ("cancelled", None, "cancelled", "grey"),
    ]
    for status, due, state, colour in cases:
        assert board.dot_state(status, due, NOW) == state, status
        assert board.colour(state) == colour


def test_kickoff_outcomes_and_rate():
    due = NOW - 24 * H
    assert board.kickoff_outcome("done", due, due - H, True, NOW) == "on_time"
    assert board.kickoff_outcome("done", due, due, True, NOW) == "on_time"  # at the deadline is in time
    assert board.kickoff_outcome("done", due, due + H, True, NOW) == "late"
    assert board.kickoff_outcome("open", due, None, False, NOW) == "late"
    assert board.kickoff_outcome("left", due, due - H, True, NOW) == "on_time"  # moved on with the date filled
    assert board.kickoff_outcome("left", due, due - H, False, NOW) == "not_counted"  # lost or moved back in time
    assert board.kickoff_outcome("left", due, due + H, False, NOW) == "late"
    assert board.kickoff_outcome("open", NOW + H, None, False, NOW) == "not_due"
    assert board.kickoff_rate(["on_time", "late", "on_time", "not_counted", "not_due"]) == (2, 3, 0.6667)
    assert board.kickoff_rate(["not_counted"]) == (0, 0, None)


def test_pin_limits():
    assert board.pin_problem(False, 0) is None
    assert board.pin_problem(False, board.MAX_PINS - 1) is None
    assert board.pin_problem(True, 3)[0] == "already_pinned"
    assert board.pin_problem(False, board.MAX_PINS)[0] == "pin_limit"


def test_the_shipped_playbook_draws_contract_delivery_and_service_nodes():
    from server.domain.playbook import parse_playbook
    from server.playbook_loader import DEFAULT_PLAYBOOK

    pb = parse_playbook(open(DEFAULT_PLAYBOOK, encoding="utf-8").read())
    lanes = [(n.key, n.board_lane) for _, n in board.lane_nodes(pb)]
    assert lanes == [("contract_approval_submitted", "contract"), ("legal_review", "contract"),
                     ("contract_scan", "contract"), ("technical_agreement", "contract"),
                     ("payment_commitment", "contract"), ("legal_archive", "contract"),
                     ("delivery_scheduling", "delivery"), ("kickoff_meeting_scheduled", "delivery"),
                     ("kickoff_minutes", "delivery"), ("delivery_plan", "delivery"), ("acceptance", "service")]


def test_an_unknown_lane_is_refused_with_its_line():
    import pytest

    from server.domain.playbook import PlaybookInvalid, parse_playbook
    from server.playbook_loader import DEFAULT_PLAYBOOK

    text = open(DEFAULT_PLAYBOOK, encoding="utf-8").read().replace("board_lane: service", "board_lane: services")
    with pytest.raises(PlaybookInvalid) as caught:
        parse_playbook(text)
    [problem] = caught.value.problems
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "board_lane: services" in t)
    assert problem.line == line and "use one of: contract, delivery, service" in problem.message
