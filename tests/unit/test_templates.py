from datetime import date
from pathlib import Path

import pytest

from server.domain.playbook import parse_playbook
from server.domain.templates import TemplateProblem, clean_values, quick_dates, summary

PB = parse_playbook((Path(__file__).resolve().parents[2] / "server" / "playbooks" / "default.yaml").read_text("utf-8"))
REPEAT = next(t for t in PB.templates if t.key == "repeat_order")
VISIT = next(t for t in PB.templates if t.key == "visit_log")
TODAY = date(2026, 11, 27)


def test_repeat_order_values_are_typed_and_checked():
    clean = clean_values(REPEAT, {"customer": "c1", "products": ["plc", "plc", "servo_drive"], "quantity": "20",
                                  "expected_order_date": "2026-12-04", "last_contract_no": " HT-1 "}, PB, TODAY)
    assert clean == {"customer": "c1", "products": ["plc", "servo_drive"], "quantity": 20,
                     "expected_order_date": "2026-12-04", "last_contract_no": "HT-1"}
    assert summary(REPEAT, clean, PB, "zh_CN").splitlines() == [
        "老客户复购", "历史合同编号：HT-1", "增购型号：PLC 控制器、伺服驱动器", "数量：20", "预计下单时间：2026-12-04"]


@pytest.mark.parametrize("values, field, words", [
    ({"customer": "c1", "quantity": 1, "expected_order_date": "2026-12-01"}, "products", "required"),
    ({"customer": "c1", "products": ["teleporter"], "quantity": 1, "expected_order_date": "2026-12-01"},
     "products", "Unknown product"),
    ({"customer": "c1", "products": ["plc"], "quantity": -3, "expected_order_date": "2026-12-01"}, "quantity", "more than 0"),
    ({"customer": "c1", "products": ["plc"], "quantity": "lots", "expected_order_date": "2026-12-01"}, "quantity", "number"),
    ({"customer": "c1", "products": ["plc"], "quantity": 1, "expected_order_date": "31/12/2026"}, "expected_order_date", "date like"),
    ({"customer": "c1", "products": ["plc"], "quantity": 1, "expected_order_date": "2026-12-01", "colour": "red"}, "colour", "no field"),
])
def test_repeat_order_bad_values_name_their_field(values, field, words):
    with pytest.raises(TemplateProblem) as info:
        clean_values(REPEAT, values, PB, TODAY)
    assert info.value.field == field and words in str(info.value)


def test_visit_log_outcome_is_one_of_its_chips_and_reads_in_chinese():
    values = {"customer": "c1", "met": "王建国", "outcome": "needs_quote", "next_step": "发报价",
              "next_step_date": "2026-11-30"}
    clean = clean_values(VISIT, values, PB, TODAY)
    assert "拜访结果：需要报价" in summary(VISIT, clean, PB, "zh_CN")
    assert "Outcome: Wants a quote" in summary(VISIT, clean, PB, "en").replace("：", ": ")
    with pytest.raises(TemplateProblem, match="must be one of"):
        clean_values(VISIT, {**values, "outcome": "bribed"}, PB, TODAY)


def test_quick_dates():
    assert quick_dates(date(2026, 11, 27)) == {"next_week": date(2026, 12, 4), "month_end": date(2026, 11, 30),
                                               "next_month_end": date(2026, 12, 31)}
    assert quick_dates(date(2026, 11, 30))["month_end"] == date(2026, 12, 31)  # on the last day: next month's
    assert quick_dates(date(2027, 1, 31))["next_month_end"] == date(2027, 3, 31)
