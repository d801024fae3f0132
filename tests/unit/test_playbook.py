from pathlib import Path

import pytest

from server.demo import SIGNED_SUBSTATES, STAGES
from server.domain.playbook import PlaybookInvalid, parse_playbook

DEFAULT = Path(__file__).resolve().parents[2] / "server" / "playbooks" / "default.yaml"

MINIMAL = """\
version: "1"
name: {zh: 流程, en: Process}
fields:
  - {key: contract_no, name: {zh: 合同编号, en: Contract number}}
stages:
  - key: open
    name: {zh: 进行中, en: Open}
    nodes:
      - key: upload
        name: {zh: 上传, en: Upload}
        executor: owner
        gate: true
        materials:
          - {key: scan, name: {zh: 扫描件, en: Scan}, types: [pdf]}
        deadline: {amount: 2, unit: working_days}
        escalation:
          - {after_hours: 0, notify: [executor]}
  - key: lost
    name: {zh: 输单, en: Lost}
    terminal: lost
phi: {from_stage: open, to_stage: open}
"""


def _problems(text: str) -> list:
    with pytest.raises(PlaybookInvalid) as info:
        parse_playbook(text)
    return info.value.problems


def test_playbook_default_encodes_the_article():
    pb = parse_playbook(DEFAULT.read_text(encoding="utf-8"))
    open_stages = [s for s in pb.stages if s.terminal is None]
    assert len(pb.nodes) == 19 and len(open_stages) >= 7
    assert [s.key for s in pb.stages] == STAGES
    solution = pb.stage("solution_confirmed")
    letter = next(n for n in solution.nodes if n.key == "tech_confirmation")
    assert letter.gate and letter.materials[0].types == ["pdf"]
    assert "技术参数确认函" in letter.materials[0].name.zh
    assert any(m.key == "three_party_quotation" for _, n in pb.nodes for m in n.materials)
    approval = next(n for _, n in pb.nodes if n.key == "contract_approval_submitted")
    assert approval.executor == "owner" and approval.collaborators == ["role:commercial"]
    assert approval.supervisor == "owner.manager"
    assert (approval.deadline.amount, approval.deadline.unit) == (48, "hours")
    signed = pb.stage("signed")
    assert signed.substates == SIGNED_SUBSTATES
    signed_materials = {m.key for n in signed.nodes for m in n.materials}
    assert {"contract_scan", "technical_agreement", "payment_commitment_letter"} <= signed_materials
    scheduling = next(n for n in signed.nodes if n.key == "delivery_scheduling")
    assert scheduling.substate == "pending_delivery_scheduling"
    assert (scheduling.deadline.amount, scheduling.deadline.unit, scheduling.deadline.from_) == (72, "hours", "last_owner_note")
    assert set(scheduling.escalation[0].notify) == {"executor", "supervisor"}
    assert {s.terminal for s in pb.stages} >= {"won", "lost"}
    assert (pb.phi.stage_transition_days, pb.phi.material_completeness, pb.phi.silent_rate) == (5.2, 0.94, 0.085)
    assert {t.scenario for t in pb.templates} == {"trade_show", "repeat_order", "visit_log"}
    for _, node in pb.nodes:  # every name is bilingual
        assert node.name.zh and node.name.en


def test_playbook_minimal_file_is_accepted():
    pb = parse_playbook(MINIMAL)
    assert pb.stage("open").nodes[0].deadline.from_ == "stage_entry"


@pytest.mark.parametrize("old, new, line, words", [
    ("key: open\n", "key: Open Stage\n", 6, "regex"),
    ("unit: working_days", "unit: fortnights", 15, "working_days"),
    ("types: [pdf]", "types: [exe]", 14, "pdf"),
    ("executor: owner\n", "executor: owner.cousin\n", 11, "not a relation"),
    ("executor: owner\n", "executor: role:king\n", 11, "unknown role"),
    ("gate: true\n", "gate: true\n        colour: red\n", 13, "unknown field"),
    ("notify: [executor]", "notify: [the_boss]", 17, "notify"),
    ("phi: {from_stage: open, to_stage: open}", "phi: {from_stage: open, to_stage: nowhere}", 21, "nowhere"),
])
def test_playbook_broken_file_names_the_line(old, new, line, words):
    broken = MINIMAL.replace(old, new, 1)
    assert broken != MINIMAL
    problems = _problems(broken)
    assert any(p.line == line and words in p.message for p in problems), problems


def test_playbook_duplicate_keys_and_missing_lost_stage():
    dup = MINIMAL.replace("  - key: lost\n    name: {zh: 输单, en: Lost}\n    terminal: lost\n",
                          "  - key: open\n    name: {zh: 重复, en: Again}\n")
    messages = [p.message for p in _problems(dup)]
    assert any("used twice" in m for m in messages)
    assert any("terminal: lost" in m for m in messages)


def test_playbook_syntax_error_and_non_mapping():
    problems = _problems("version: '1'\nstages: [\n")
    assert problems[0].line is not None and "YAML" in problems[0].message
    assert "mapping" in _problems("- just\n- a list\n")[0].message
    assert _problems("")[0].line == 1


def test_playbook_unknown_field_reference_and_escalation_without_deadline():
    text = MINIMAL.replace("        deadline: {amount: 2, unit: working_days}\n", "        fields: [budget]\n")
    messages = [p.message for p in _problems(text)]
    assert any("no field 'budget'" in m for m in messages)
    assert any("need a deadline" in m for m in messages)


def test_playbook_type_errors_in_several_places_are_all_listed_with_their_lines():
    text = (MINIMAL.replace("unit: working_days", "unit: weeks")
            .replace("    terminal: lost", "    terminal: lost\n    silence_days: often")
            .replace('version: "1"', 'version: "1"\nsilence_days: -3'))
    problems = _problems(text)
    where = [(p.line, p.path) for p in problems]
    assert (16, "$.stages[0].nodes[0].deadline.unit") in where, where  # a node
    assert (22, "$.stages[1].silence_days") in where, where            # another stage
    assert (2, "$.silence_days") in where, where                       # the top level
    unit = next(p for p in problems if p.path.endswith("deadline.unit"))
    assert "use one of: hours, working_days" in unit.message
