from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from server.domain.gates import OppFacts, TransitionError, missing_for_exit, node_status, plan_move
from server.domain.playbook import parse_playbook

PB = parse_playbook((Path(__file__).resolve().parents[2] / "server" / "playbooks" / "default.yaml").read_text("utf-8"))
SH = ZoneInfo("Asia/Shanghai")
ENTERED = datetime(2026, 11, 23, 9, 0, tzinfo=SH)  # a Monday
WHO = {"owner": "u-rep", "owner.manager": "u-mgr", "role:presales": "u-pre", "role:commercial": "u-com",
       "role:legal": None}


def facts(stage, substate=None, materials=(), fields=None, contact=None, note=None):
    return OppFacts(stage=stage, substate=substate, fields=fields or {}, present_materials=frozenset(materials),
                    stage_entered_at=ENTERED, last_contact_at=contact, last_note_at=note)


def test_gate_solution_confirmed_needs_the_stamped_pdf_and_says_who_owes_it():
    missing = missing_for_exit(PB, facts("solution_confirmed"), WHO)
    assert [(m.node, m.material) for m in missing] == [("tech_confirmation", "tech_confirmation_letter")]
    assert missing[0].owner_role == "role:presales" and missing[0].owner_user_id == "u-pre"
    assert missing_for_exit(PB, facts("solution_confirmed", materials={"tech_confirmation_letter"}), WHO) == []


def test_gate_fields_and_activities_count():
    missing = missing_for_exit(PB, facts("initial_contact"), WHO)
    assert {(m.node, m.action or m.field) for m in missing} == {("first_contact", "activity"),
                                                                ("decision_maker_identified", "decision_maker")}
    done = facts("initial_contact", fields={"decision_maker": "王总"}, contact=ENTERED + timedelta(hours=2))
    assert missing_for_exit(PB, done, WHO) == []
    stale = facts("initial_contact", fields={"decision_maker": "  "}, contact=ENTERED - timedelta(days=1))
    assert len(missing_for_exit(PB, stale, WHO)) == 2


def test_gate_signed_substates_gate_in_order():
    first = missing_for_exit(PB, facts("signed", "pending_legal_archive"), WHO)
    assert {m.material or m.field for m in first} == {"contract_scan", "technical_agreement",
                                                       "payment_commitment_letter", "archive_no"}
    legal = next(m for m in first if m.field == "archive_no")
    assert legal.owner_role == "role:legal" and legal.owner_user_id is None
    scheduling = missing_for_exit(PB, facts("signed", "pending_delivery_scheduling"), WHO)
    assert [(m.node, m.field) for m in scheduling] == [("delivery_scheduling", "delivery_date")]


def test_transitions_forward_back_lost_and_won():
    assert plan_move(PB, "initial_contact", None, "needs_analysis", None).kind == "forward"
    move = plan_move(PB, "contract_approval", None, "signed", None)
    assert (move.stage, move.substate) == ("signed", "pending_legal_archive")
    assert plan_move(PB, "signed", "pending_legal_archive", "pending_delivery_scheduling", None).substate == \
        "pending_delivery_scheduling"
    assert plan_move(PB, "signed", "pending_kickoff_meeting", "delivery_kickoff", None).kind == "forward"
    assert plan_move(PB, "delivery_kickoff", None, "won", None).kind == "won"
    assert plan_move(PB, "price_comparison", None, "needs_analysis", "客户改需求").kind == "back"
    assert plan_move(PB, "price_comparison", None, "lost", "价格").kind == "lost"


@pytest.mark.parametrize("stage, substate, to, reason, words", [
    ("initial_contact", None, "solution_confirmed", None, "not the next stage"),
    ("initial_contact", None, "won", None, "not the next stage"),
    ("price_comparison", None, "needs_analysis", None, "needs a reason"),
    ("price_comparison", None, "lost", None, "needs a reason"),
    ("signed", "pending_legal_archive", "delivery_kickoff", None, "substates"),
    ("signed", "pending_legal_archive", "pending_kickoff_meeting", None, "next substate"),
    ("won", None, "lost", "x", "cannot move"),
    ("initial_contact", None, "nowhere", None, "no stage or substate"),
])
def test_transitions_refused_with_a_reason(stage, substate, to, reason, words):
    with pytest.raises(TransitionError, match=words):
        plan_move(PB, stage, substate, to, reason)


def test_node_status_map_done_pending_overdue_ahead():
    f = facts("solution_confirmed")
    stage = PB.stage("solution_confirmed")
    letter = next(n for n in stage.nodes if n.key == "tech_confirmation")
    before_due = ENTERED + timedelta(days=1)
    assert node_status(PB, stage, letter, f, before_due, SH) == "pending"
    assert node_status(PB, stage, letter, f, ENTERED + timedelta(days=4), SH) == "overdue"  # 3 working days
    earlier = PB.stage("initial_contact")
    assert node_status(PB, earlier, earlier.nodes[0], f, before_due, SH) == "done"
    later = PB.stage("signed")
    assert node_status(PB, later, later.nodes[0], f, before_due, SH) == "ahead"


def test_next_step_of_advance():
    from server.domain.gates import next_step

    assert next_step(PB, "initial_contact", None) == "needs_analysis"
    assert next_step(PB, "signed", "pending_legal_archive") == "pending_delivery_scheduling"
    assert next_step(PB, "signed", "pending_kickoff_meeting") == "delivery_kickoff"
    assert next_step(PB, "delivery_kickoff", None) == "won"
    assert next_step(PB, "lost", None) is None


def test_nodes_of_a_step_left_with_missing_material_show_as_skipped_not_done():
    """After an admin override, the letter never uploaded must not look delivered."""
    now = ENTERED + timedelta(days=1)
    sol = PB.stage("solution_confirmed")
    letter = next(n for n in sol.nodes if n.key == "tech_confirmation")
    demo = next(n for n in sol.nodes if n.key == "solution_presentation")  # an activity node
    later = facts("price_comparison")
    assert node_status(PB, sol, letter, later, now, SH) == "skipped"
    assert node_status(PB, sol, demo, later, now, SH) == "done"
    uploaded = facts("price_comparison", materials={"tech_confirmation_letter"})
    assert node_status(PB, sol, letter, uploaded, now, SH) == "done"
    signed = PB.stage("signed")
    archive = next(n for n in signed.nodes if n.key == "legal_archive")  # a fields node of an earlier substate
    assert node_status(PB, signed, archive, facts("signed", "pending_kickoff_meeting"), now, SH) == "skipped"
    assert node_status(PB, signed, archive, facts("signed", "pending_kickoff_meeting",
                                                  fields={"archive_no": "GD-7"}), now, SH) == "done"
