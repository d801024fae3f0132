"""Silence, risk, snoozes, the 09:00 digest and the meeting link: pure rules, answers worked out by hand."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from server.domain import silence
from server.domain.access import Viewer
from server.domain.playbook import parse_playbook

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # Wednesday 10:00 in Shanghai
D = timedelta(days=1)

# Four open stages (a, b, c, d: stage weights 1, 4/3, 5/3, 2), b with its own 3-day threshold.
PLAYBOOK = parse_playbook("""
version: "t1"
name: {zh: 测试, en: Test}
silence_days: 7
snooze_max_days: 30
stages:
  - {key: a, name: {zh: A, en: A}}
  - {key: b, name: {zh: B, en: B}, silence_days: 3}
  - {key: c, name: {zh: C, en: C}}
  - {key: d, name: {zh: D, en: D}}
  - {key: won, name: {zh: 赢单, en: Won}, terminal: won}
  - {key: lost, name: {zh: 输单, en: Lost}, terminal: lost}
phi: {from_stage: a, to_stage: c}
""")


def test_silence_threshold_is_the_stages_or_the_playbooks_default():
    assert silence.threshold_days(PLAYBOOK, "b") == 3
    assert silence.threshold_days(PLAYBOOK, "a") == 7  # no silence_days of its own
    assert silence.threshold_days(PLAYBOOK, None) == 7  # a customer without an open deal
    assert silence.threshold_days(PLAYBOOK, "unknown") == 7


def test_silent_means_more_than_the_threshold():
    assert not silence.is_silent(NOW - 7 * D, 7, NOW)  # exactly 7 days: not yet
    assert silence.is_silent(NOW - 7 * D - timedelta(seconds=1), 7, NOW)
    assert silence.days_silent(NOW - 7 * D - timedelta(hours=23), NOW) == 7  # whole days
    assert silence.days_silent(NOW + timedelta(hours=1), NOW) == 0  # a contact logged a moment ahead


def test_cutoffs_list_only_the_stages_with_their_own_threshold():
    per_stage, default = silence.cutoffs(PLAYBOOK, NOW)
    assert per_stage == {"b": NOW - 3 * D}
    assert default == NOW - 7 * D


def test_amount_weight_is_logarithmic_in_ten_thousands():
    assert silence.amount_weight(None) == 1.0
    assert silence.amount_weight(0) == 1.0
    assert silence.amount_weight(90_000) == pytest.approx(2.0)  # 1 + log10(1 + 9)
    assert silence.amount_weight(990_000) == pytest.approx(3.0)  # 1 + log10(1 + 99)


def test_stage_weight_grows_from_one_to_two_along_the_open_stages():
    assert silence.stage_weight(PLAYBOOK, "a") == 1.0
    assert silence.stage_weight(PLAYBOOK, "b") == pytest.approx(4 / 3)
    assert silence.stage_weight(PLAYBOOK, "c") == pytest.approx(5 / 3)
    assert silence.stage_weight(PLAYBOOK, "d") == 2.0
    assert silence.stage_weight(PLAYBOOK, None) == 1.0
    assert silence.stage_weight(PLAYBOOK, "won") == 1.0


def test_risk_is_days_past_threshold_times_amount_and_stage_weights():
    # stage c, 16 days silent, threshold 7: 9 days over × amount 90,000 (2) × stage (5/3) = 30
    assert silence.risk(PLAYBOOK, basis=NOW - 16 * D, stage="c", amount=90_000, now=NOW) == 30.0
    # stage b, 5 days silent, threshold 3: 2 × 1 × 4/3 = 2.67
    assert silence.risk(PLAYBOOK, basis=NOW - 5 * D, stage="b", amount=None, now=NOW) == 2.67
    # a customer without an open deal, 10 days: 3 × 1 × 1
    assert silence.risk(PLAYBOOK, basis=NOW - 10 * D, stage=None, amount=None, now=NOW) == 3.0
    # not silent: no risk
    assert silence.risk(PLAYBOOK, basis=NOW - 2 * D, stage="a", amount=1_000_000, now=NOW) == 0.0


def test_stage_factors_give_the_same_risk_as_looking_each_stage_up():
    factors = silence.stage_factors(PLAYBOOK)
    assert factors == {None: (7, 1.0), "a": (7, 1.0), "b": (3, pytest.approx(4 / 3)), "c": (7, pytest.approx(5 / 3)),
                       "d": (7, 2.0)}
    for stage in (None, "a", "b", "c", "d"):
        assert silence.risk(PLAYBOOK, basis=NOW - 20 * D, stage=stage, amount=50_000, now=NOW, factors=factors) == \
            silence.risk(PLAYBOOK, basis=NOW - 20 * D, stage=stage, amount=50_000, now=NOW)


def test_most_at_risk_keeps_one_row_per_customer_and_orders_by_risk():
    c = silence.Candidate
    rows = silence.most_at_risk(PLAYBOOK, [
        c(customer_id="k1", opportunity_id="o1", basis=NOW - 10 * D, stage="a", amount=None),       # 3
        c(customer_id="k1", opportunity_id="o2", basis=NOW - 16 * D, stage="c", amount=90_000),     # 30
        c(customer_id="k2", opportunity_id=None, basis=NOW - 12 * D, stage=None, amount=None),      # 5
        c(customer_id="k3", opportunity_id="o3", basis=NOW - 5 * D, stage="b", amount=None),        # 2.67
        c(customer_id="k4", opportunity_id=None, basis=NOW - 12 * D, stage=None, amount=None),      # 5, tie
    ], NOW)
    assert [(r[0].customer_id, r[0].opportunity_id, r[1], r[2]) for r in rows] == [
        ("k1", "o2", 30.0, 2), ("k2", None, 5.0, 0), ("k4", None, 5.0, 0), ("k3", "o3", 2.67, 1)]


def test_a_tie_goes_to_the_longer_silence():
    c = silence.Candidate
    rows = silence.most_at_risk(PLAYBOOK, [
        c(customer_id="x", opportunity_id=None, basis=NOW - 9 * D, stage=None, amount=None),        # 2
        c(customer_id="y", opportunity_id="o", basis=NOW - 10 * D, stage="a", amount=None),         # 3
        c(customer_id="z", opportunity_id="p", basis=NOW - 5 * D, stage="b", amount=50_000),        # 2 × (1+log10 6) × 4/3
    ], NOW)
    assert [r[0].customer_id for r in rows] == ["z", "y", "x"]
    assert rows[0][1] == pytest.approx(2 * (1 + 0.77815) * 4 / 3, abs=0.01)


def test_snooze_until_today_up_to_the_maximum():
    today = date(2026, 11, 25)
    assert silence.snooze_problem(today, today, 30) is None
    assert silence.snooze_problem(date(2026, 12, 25), today, 30) is None  # exactly 30 days
    too_long = silence.snooze_problem(date(2026, 12, 26), today, 30)
    assert too_long == "A customer can be snoozed for at most 30 days: pick 2026-12-25 or an earlier day."
    assert "in the past" in silence.snooze_problem(date(2026, 11, 24), today, 30)


def test_a_snooze_holds_through_its_last_day():
    assert silence.is_snoozed(date(2026, 11, 25), date(2026, 11, 25))
    assert not silence.is_snoozed(date(2026, 11, 24), date(2026, 11, 25))
    assert not silence.is_snoozed(None, date(2026, 11, 25))
    # the local day: 23:30 UTC on the 24th is already the 25th in Shanghai
    assert silence.local_today(datetime(2026, 11, 24, 23, 30, tzinfo=timezone.utc), SHANGHAI) == date(2026, 11, 25)


def test_the_digest_is_due_from_nine_in_the_organisations_time_zone():
    assert silence.digest_day(datetime(2026, 11, 25, 0, 59, tzinfo=timezone.utc), SHANGHAI) is None  # 08:59
    assert silence.digest_day(datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc), SHANGHAI) == date(2026, 11, 25)
    assert silence.digest_day(datetime(2026, 11, 25, 15, 59, tzinfo=timezone.utc), SHANGHAI) == date(2026, 11, 25)
    assert silence.digest_day(datetime(2026, 11, 25, 16, 0, tzinfo=timezone.utc), SHANGHAI) is None  # 00:00 next day
    assert silence.digest_key("u1", date(2026, 11, 25)) == "silent:u1:2026-11-25"


def test_meeting_link_template():
    template = "https://meet.example.com/new?invite={phone}&topic={customer}"
    assert silence.meeting_template_problem(template) is None
    assert silence.fill_meeting_url(template, "+8613812345678", "王 建国") == \
        "https://meet.example.com/new?invite=+8613812345678&topic=%E7%8E%8B%20%E5%BB%BA%E5%9B%BD"
    assert silence.fill_meeting_url(template, None, "A&B") == "https://meet.example.com/new?invite=&topic=A%26B"
    assert "placeholders" in silence.meeting_template_problem("https://meet.example.com/{room}")
    assert "placeholders" in silence.meeting_template_problem("https://meet.example.com/{phone.real}")
    assert "http" in silence.meeting_template_problem("javascript:alert({phone})")


def test_only_managers_and_admins_see_a_teams_list():
    rep = Viewer(id="r", username="r", display_name="R", roles=("rep",))
    manager = Viewer(id="m", username="m", display_name="M", roles=("manager",), managed_team_ids=("t",))
    admin = Viewer(id="a", username="a", display_name="A", roles=("admin",))
    assert silence.team_scope_problem(rep) == "Only managers and admins see a team's silent customers; ask for scope=me."
    assert silence.team_scope_problem(manager) is None
    assert silence.team_scope_problem(admin) is None
