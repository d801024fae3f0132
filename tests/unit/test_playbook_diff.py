"""The playbook diff and the impact of a draft on open opportunities, on hand-built playbooks."""

from datetime import datetime, timezone

import msgspec

from server.domain.gates import OppFacts
from server.domain.playbook import Playbook, parse_playbook
from server.domain.playbook_diff import OpenOpportunity, counts, diff, impact, stranded
from server.playbook_loader import DEFAULT_PLAYBOOK

BASE = parse_playbook(DEFAULT_PLAYBOOK.read_text(encoding="utf-8"))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def edited(change) -> Playbook:
    doc = msgspec.to_builtins(BASE)
    change(doc)
    return msgspec.convert(doc, Playbook)


def node(doc, stage, key):
    return next(n for s in doc["stages"] if s["key"] == stage for n in s["nodes"] if n["key"] == key)


def opp(i, stage, substate=None, present=(), fields=None) -> OpenOpportunity:
    return OpenOpportunity(id=f"o{i}", title=f"deal {i}", facts=OppFacts(
        stage=stage, substate=substate, fields=fields or {}, present_materials=frozenset(present),
        stage_entered_at=T0))


def test_same_playbook_has_no_changes_and_the_version_label_is_not_a_change():
    assert diff(BASE, BASE) == []
    assert diff(BASE, msgspec.structs.replace(BASE, version="9")) == []


def test_writing_a_default_out_is_not_a_change():
    def explicit(doc):
        doc["stages"][0]["nodes"][0]["urgent"] = False
    assert diff(BASE, edited(explicit)) == []


def test_added_removed_changed_and_reordered_items_are_named_by_key():
    def change(doc):
        tech = node(doc, "solution_confirmed", "tech_confirmation")
        tech["materials"].append({"key": "customer_po", "name": {"zh": "意向书", "en": "LOI"}, "types": ["pdf"]})
        tech["gate"] = False
        doc["products"] = [p for p in doc["products"] if p["key"] != doc["products"][0]["key"]]
        doc["silence_days"] = 9
        doc["stages"][0]["nodes"].reverse()
    first_product = BASE.products[0].key
    changes = {(c.path, c.kind) for c in diff(BASE, edited(change))}
    assert changes == {
        ("stages[solution_confirmed].nodes[tech_confirmation].materials[customer_po]", "added"),
        ("stages[solution_confirmed].nodes[tech_confirmation].gate", "changed"),
        (f"products[{first_product}]", "removed"),
        ("silence_days", "changed"),
        ("stages[initial_contact].nodes", "reordered"),
    }
    gate = next(c for c in diff(BASE, edited(change)) if c.path.endswith(".gate"))
    assert (gate.before, gate.after) == (True, False)


def test_impact_counts_newly_missing_blocked_and_unblocked_by_hand():
    def add_material(doc):
        node(doc, "solution_confirmed", "tech_confirmation")["materials"].append(
            {"key": "customer_po", "name": {"zh": "意向书", "en": "LOI"}, "types": ["pdf"]})
    draft = edited(add_material)
    opps = [
        opp(1, "solution_confirmed", present={"tech_confirmation_letter"}),  # could leave; now blocked
        opp(2, "solution_confirmed"),  # already blocked by the letter; now also misses the LOI
        opp(3, "solution_confirmed", present={"tech_confirmation_letter", "customer_po"}),  # unaffected
        opp(4, "price_comparison"),  # another stage: unaffected
    ]
    lines = impact(BASE, draft, opps)
    by = {(line.kind, line.stage, line.item): line for line in lines}
    assert by[("newly_missing", "solution_confirmed", "customer_po")].opportunities == ["o1", "o2"]
    assert by[("newly_blocked", "solution_confirmed", None)].opportunities == ["o1"]
    assert counts(lines) == {"newly_missing": 2, "newly_blocked": 1}
    back = {(line.kind, line.item): line.count for line in impact(draft, BASE, opps)}
    assert back == {("unblocked", None): 1, ("no_longer_missing", "customer_po"): 2}


def test_removed_stage_or_substate_strands_its_open_opportunities():
    def drop_stage(doc):
        doc["stages"] = [s for s in doc["stages"] if s["key"] != "needs_analysis"]
    lines = impact(BASE, edited(drop_stage), [opp(1, "needs_analysis"), opp(2, "initial_contact")])
    assert stranded(lines) == 1 and lines[0].kind == "stranded" and lines[0].opportunities == ["o1"]

    def drop_substate(doc):
        signed = next(s for s in doc["stages"] if s["key"] == "signed")
        signed["substates"] = [x for x in signed["substates"] if x != "pending_kickoff_meeting"]
        signed["substate_names"].pop("pending_kickoff_meeting", None)
        for n in signed["nodes"]:
            if n.get("substate") == "pending_kickoff_meeting":
                n["substate"] = "pending_delivery_scheduling"
    lines = impact(BASE, edited(drop_substate), [opp(1, "signed", "pending_kickoff_meeting"),
                                                 opp(2, "signed", "pending_legal_archive")])
    assert [(line.kind, line.substate, line.count) for line in lines if line.kind == "stranded"] == [
        ("stranded", "pending_kickoff_meeting", 1)]


def test_a_new_or_changed_deadline_in_the_current_stage_is_reported():
    def change(doc):
        node(doc, "price_comparison", "three_party_quotation")["deadline"] = {
            "amount": 1, "unit": "working_days", "from": "stage_entry"}
    lines = impact(BASE, edited(change), [opp(1, "price_comparison"), opp(2, "initial_contact")])
    kinds = {(line.kind, line.node, line.count) for line in lines}
    had = next(n for s in BASE.stages for n in s.nodes if n.key == "three_party_quotation").deadline
    expected = "deadline_changed" if had is not None else "new_deadline"
    assert (expected, "three_party_quotation", 1) in kinds


def test_only_stage_changes_can_touch_open_deals():
    """review_body skips loading open deals when no change is under `stages`: hold that assumption."""
    def outside(doc):
        doc["silence_days"] = 9
        doc["products"] = doc["products"][1:]
        doc["phi"]["silent_rate"] = 0.1
    draft = edited(outside)
    assert all(not c.path.startswith("stages") for c in diff(BASE, draft))
    deals = [opp(1, "solution_confirmed"), opp(2, "signed", "pending_legal_archive"),
             opp(3, "price_comparison", present={"three_party_quotation"})]
    assert impact(BASE, draft, deals) == []
