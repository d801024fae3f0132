from datetime import datetime, timedelta, timezone

import pytest

from server.domain.access import Viewer, may_assign_owner, parse_roles, roles_from_db, roles_to_db, scope_for
from server.domain.activities import InvalidActivity, check_activity, is_customer_facing, later
from server.domain.auth import session_alive, throttle_retry_after
from server.domain.phones import InvalidPhone, digits_for_search, normalise_phone

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("raw, e164", [
    ("13812345678", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("+86 138-1234-5678", "+8613812345678"),
    ("008613812345678", "+8613812345678"),
    ("021-6234 5678", "+862162345678"),
    ("+1 650 253 0000", "+16502530000"),
])
def test_phones_normalise_to_e164_with_china_default(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12", "abc", "1381234567899999", "+86 100"])
def test_phones_invalid_are_refused_with_a_sentence(raw):
    with pytest.raises(InvalidPhone) as info:
        normalise_phone(raw)
    assert str(info.value).endswith(".")


def test_phone_digits_for_search():
    assert digits_for_search("5678") == "5678"
    assert digits_for_search("138 1234") == "1381234"
    assert digits_for_search("张伟") is None
    assert digits_for_search("12") is None


def _viewer(**kw):
    base = dict(id="u1", username="u1", display_name="U1", roles=("rep",))
    return Viewer(**{**base, **kw})


def test_access_scope_rep_owns_and_collaborates_only():
    scope = scope_for(_viewer())
    assert not scope.everything
    assert scope.owner_ids == ("u1",) and scope.team_ids == () and scope.collaborator_id == "u1"


def test_access_scope_manager_sees_team_and_reports_admin_everything():
    mgr = _viewer(roles=("manager",), managed_team_ids=("t1",), report_ids=("u2", "u3"))
    scope = scope_for(mgr)
    assert scope.owner_ids == ("u1", "u2", "u3") and scope.team_ids == ("t1",)
    assert scope_for(mgr, team_view=False).owner_ids == ("u1",)
    assert scope_for(_viewer(roles=("admin",))).everything


def test_access_who_may_assign_an_owner():
    rep = _viewer()
    assert may_assign_owner(rep, "u1", None, None)
    assert not may_assign_owner(rep, "u2", "t1", None)
    mgr = _viewer(roles=("manager",), managed_team_ids=("t1",))
    assert may_assign_owner(mgr, "u2", "t1", None)
    assert may_assign_owner(mgr, "u3", "t9", "u1")  # a direct report in another team
    assert not may_assign_owner(mgr, "u4", "t2", "u9")
    assert may_assign_owner(_viewer(roles=("admin",)), "u4", "t2", None)


def test_roles_round_trip_and_refuse_unknown():
    assert parse_roles("rep, manager,rep") == ("rep", "manager")
    assert roles_from_db(roles_to_db(("rep", "legal"))) == ("rep", "legal")
    with pytest.raises(ValueError, match="unknown role"):
        parse_roles("rep,king")
    with pytest.raises(ValueError):
        parse_roles(" , ")


def test_activity_kinds_customer_facing_versus_note():
    assert all(is_customer_facing(k) for k in ("call", "visit", "meeting", "message"))
    assert not is_customer_facing("note")


def test_activity_time_rules():
    check_activity("call", NOW - timedelta(hours=2), NOW)
    with pytest.raises(InvalidActivity, match="future"):
        check_activity("call", NOW + timedelta(hours=1), NOW)
    with pytest.raises(InvalidActivity, match="year"):
        check_activity("call", NOW - timedelta(days=400), NOW)
    with pytest.raises(InvalidActivity, match="Unknown"):
        check_activity("telepathy", NOW, NOW)


def test_backdated_contact_never_moves_last_contact_backwards():
    assert later(None, NOW) == NOW
    assert later(NOW, NOW - timedelta(days=3)) == NOW
    assert later(NOW - timedelta(days=3), NOW) == NOW


def test_throttle_after_ten_failures_in_fifteen_minutes():
    nine = [NOW - timedelta(minutes=m) for m in range(9)]
    assert throttle_retry_after(nine, NOW) is None
    ten = nine + [NOW - timedelta(minutes=10)]
    # unlocks when the oldest of the last ten leaves the 15-minute window: 5 minutes from now
    assert throttle_retry_after(ten, NOW) == 300
    old = [NOW - timedelta(minutes=20 + m) for m in range(20)]
    assert throttle_retry_after(old, NOW) is None


def test_session_idle_and_absolute_timeouts():
    idle, absolute = timedelta(hours=1), timedelta(days=1)
    assert session_alive(created_at=NOW - timedelta(hours=3), last_seen_at=NOW - timedelta(minutes=5),
                         now=NOW, idle=idle, absolute=absolute)
    assert not session_alive(created_at=NOW, last_seen_at=NOW - timedelta(hours=2), now=NOW, idle=idle,
                             absolute=absolute)
    assert not session_alive(created_at=NOW - timedelta(days=2), last_seen_at=NOW, now=NOW, idle=idle,
                             absolute=absolute)
