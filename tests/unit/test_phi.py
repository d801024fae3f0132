"""The Process Health Index: the three numbers, their scores, the window and weeks. Answers worked out by hand."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from server.domain import phi
from server.domain.access import Viewer
from server.domain.playbook import Thresholds, parse_playbook

SHANGHAI = ZoneInfo("Asia/Shanghai")
TH = Thresholds()  # the article's: 5.2 days, 94 %, 8.5 %
NOW = datetime(2026, 11, 25, 6, 30, tzinfo=timezone.utc)  # Wednesday 14:30 in Shanghai


def test_the_articles_thresholds_exactly_are_healthy_and_score_100():
    # 4 deals took 20.8 days in all; 47 of 50 files present; 17 of 200 open deals silent
    v = phi.values_of(phi.Partial(transitions=4, transition_days=20.8, required=50, present=47, open=200, silent=17))
    assert (v.stage_transition_days, v.material_completeness, v.silent_rate) == (5.2, 0.94, 0.085)
    assert phi.healthy(v, TH) == {"stage_transition_days": True, "material_completeness": True, "silent_rate": True,
                                  "all": True}
    assert phi.score(v, TH) == 100.0


def test_twice_as_far_from_each_threshold_scores_50():
    v = phi.Values(stage_transition_days=10.4, material_completeness=0.47, silent_rate=0.17)
    assert phi.sub_scores(v, TH) == {"stage_transition_days": 50.0, "material_completeness": 50.0,
                                     "silent_rate": 50.0}
    assert phi.score(v, TH) == 50.0
    assert phi.healthy(v, TH)["all"] is False


def test_score_is_the_mean_of_the_three_capped_scores():
    # 5.2 / 6.5 = 0.8 → 80; 0.8 / 0.94 = 0.851 → 85.1; no silence → 100; (80 + 85.1 + 100) / 3 = 88.37
    v = phi.Values(stage_transition_days=6.5, material_completeness=0.8, silent_rate=0.0)
    assert phi.sub_scores(v, TH) == {"stage_transition_days": 80.0, "material_completeness": 85.1,
                                     "silent_rate": 100.0}
    assert phi.score(v, TH) == 88.4
    assert phi.healthy(v, TH) == {"stage_transition_days": False, "material_completeness": False,
                                  "silent_rate": True, "all": False}
    # better than healthy does not score above 100
    assert phi.sub_scores(phi.Values(stage_transition_days=1.0, material_completeness=1.0, silent_rate=0.01), TH) == {
        "stage_transition_days": 100.0, "material_completeness": 100.0, "silent_rate": 100.0}


def test_a_number_with_nothing_to_measure_is_left_out():
    v = phi.values_of(phi.Partial(required=10, present=5, open=4, silent=1))  # no deal reached the stage
    assert v.stage_transition_days is None
    assert (v.material_completeness, v.silent_rate) == (0.5, 0.25)
    # completeness 0.5 / 0.94 → 53.2; silence 0.085 / 0.25 → 34.0; mean 43.6
    assert phi.score(v, TH) == 43.6
    assert phi.healthy(v, TH)["stage_transition_days"] is None
    nothing = phi.values_of(phi.Partial())
    assert phi.score(nothing, TH) is None
    assert phi.healthy(nothing, TH)["all"] is None


def test_partials_add_up():
    a = phi.Partial(transitions=1, transition_days=4.0, required=3, present=2, open=5, silent=1)
    b = phi.Partial(transitions=2, transition_days=8.5, required=1, present=1, open=2, silent=2)
    assert phi.total([a, b]) == phi.Partial(transitions=3, transition_days=12.5, required=4, present=3, open=7,
                                            silent=3)
    assert phi.values_of(phi.total([a, b])).stage_transition_days == 4.17  # 12.5 / 3


PLAYBOOK = parse_playbook("""
version: "t1"
name: {zh: 测试, en: Test}
stages:
  - {key: first, name: {zh: 一, en: One}}
  - key: second
    name: {zh: 二, en: Two}
    nodes:
      - {key: n1, name: {zh: 节点, en: Node}, executor: owner,
         materials: [{key: m1, name: {zh: 材料, en: M1}, types: [pdf]}, {key: m2, name: {zh: 材料, en: M2}, types: [pdf]}]}
  - key: third
    name: {zh: 三, en: Three}
    substates: [s1, s2]
    nodes:
      - {key: n2, name: {zh: 节点, en: Node}, executor: owner, materials: [{key: m3, name: {zh: 材料, en: M3}, types: [pdf]}]}
      - {key: n3, name: {zh: 节点, en: Node}, executor: owner, substate: s2,
         materials: [{key: m4, name: {zh: 材料, en: M4}, types: [pdf]}, {key: m1, name: {zh: 材料, en: M1}, types: [pdf]}]}
  - {key: won, name: {zh: 赢, en: Won}, terminal: won}
  - {key: lost, name: {zh: 输, en: Lost}, terminal: lost}
phi: {from_stage: first, to_stage: second}
""")


def test_required_materials_are_those_of_the_nodes_in_play_per_stage_and_substate():
    assert phi.required_materials(PLAYBOOK) == [
        ("second", "", "m1"), ("second", "", "m2"),
        ("third", "s1", "m3"),
        ("third", "s2", "m3"), ("third", "s2", "m4"), ("third", "s2", "m1"),
    ]


def test_reaching_the_target_stage_counts_for_it_and_every_later_stage_but_lost():
    assert phi.reached_stages(PLAYBOOK) == ["second", "third", "won"]


def test_window_defaults_to_the_last_30_days_up_to_now():
    assert phi.window(NOW, SHANGHAI, None, None) == (NOW - timedelta(days=30), NOW)


def test_window_ending_at_the_end_of_the_calendar_ends_now():
    assert phi.window(NOW, SHANGHAI, date(2026, 11, 1), date(9999, 12, 31))[1] == NOW


def test_window_of_local_days_end_inclusive_and_never_past_now():
    start, end = phi.window(NOW, SHANGHAI, date(2026, 11, 1), date(2026, 11, 10))
    assert start == datetime(2026, 11, 1, tzinfo=SHANGHAI)
    assert end == datetime(2026, 11, 11, tzinfo=SHANGHAI)
    assert phi.window(NOW, SHANGHAI, date(2026, 11, 20), date(2026, 12, 31))[1] == NOW
    assert phi.window(NOW, SHANGHAI, None, date(2026, 11, 10)) == (
        datetime(2026, 10, 12, tzinfo=SHANGHAI), datetime(2026, 11, 11, tzinfo=SHANGHAI))


@pytest.mark.parametrize("start, end, message", [
    (date(2026, 11, 10), date(2026, 11, 1), "from (2026-11-10) must not be after to (2026-11-01)."),
    (date(2026, 12, 1), None, "The window is empty or in the future; choose days up to today."),
    (date(2024, 1, 1), date(2026, 11, 1), "The window may span at most 366 days."),
    # Found by fuzzing: the calendar's ends overflowed (a 500) instead of being refused.
    (date(1, 1, 1), date(1, 1, 5), "Days before 2000-01-01 are not accepted."),
    (None, date(1, 1, 1), "Days before 2000-01-01 are not accepted."),
    (date(9999, 12, 31), None, "The window is empty or in the future; choose days up to today."),
])
def test_window_refuses_what_a_person_should_fix(start, end, message):
    with pytest.raises(phi.WindowError) as caught:
        phi.window(NOW, SHANGHAI, start, end)
    assert str(caught.value) == message


def test_the_last_eight_weeks_start_on_local_mondays():
    starts = phi.week_starts(NOW, SHANGHAI)
    assert len(starts) == 8
    assert starts[-1] == datetime(2026, 11, 23, tzinfo=SHANGHAI)  # this week's Monday
    assert starts[0] == datetime(2026, 10, 5, tzinfo=SHANGHAI)
    # Sunday 23:30 UTC is already Monday in Shanghai: a new week
    assert phi.week_starts(datetime(2026, 11, 29, 16, 30, tzinfo=timezone.utc), SHANGHAI)[-1] == \
        datetime(2026, 11, 30, tzinfo=SHANGHAI)


def test_who_may_see_which_scope():
    rep = Viewer(id="r", username="r", display_name="R", roles=("rep",))
    manager = Viewer(id="m", username="m", display_name="M", roles=("manager",), managed_team_ids=("t",))
    admin = Viewer(id="a", username="a", display_name="A", roles=("admin",))
    assert phi.scope_problem(rep, "me", None) is None
    assert phi.scope_problem(rep, "team", None)[0] == 403
    assert phi.scope_problem(rep, "org", None)[0] == 403
    assert phi.scope_problem(manager, "team", None) is None
    assert phi.scope_problem(manager, "org", None) is None  # the numbers and the team ranking
    assert phi.scope_problem(manager, "org", None, listing=True) == (
        403, "The deals behind the organisation's numbers are listed for admins; ask for scope=team.")
    assert phi.scope_problem(admin, "org", None, listing=True) is None
    assert phi.scope_problem(manager, "me", "t") == (422, "team_id goes with scope=team.")
