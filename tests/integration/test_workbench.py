"""The silent-customer workbench through the API: who is silent, in which order, for whom; snoozes; the 09:00 digest."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from server import jobs
from server.tables import Alert, AuditLog, Customer, CustomerSnooze, InboxItem, Opportunity

from tests.integration.helpers import make_org

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = timedelta(days=1)


def _ago(days: float) -> str:
    return (datetime.now(timezone.utc) - days * D).isoformat()


async def _customer(client, org, who, name, *, contacted_days_ago=None, stage=None, amount=None):
    """A customer of `who`, with an open opportunity in `stage` when given, last contacted (a call) N days ago."""
    resp = await client.post("/api/v1/customers", json={"name": name, "phone": "13900001111"}, headers=org.auth(who))
    assert resp.status_code == 201, resp.text
    customer = resp.json()
    opp = None
    if stage:
        resp = await client.post("/api/v1/opportunities", headers=org.auth(who),
                                 json={"customer_id": customer["id"], "title": f"{name}项目", "amount": amount})
        assert resp.status_code == 201, resp.text
        opp = resp.json()
        await Opportunity.update({Opportunity.stage: stage}).where(Opportunity.id == opp["id"]).run()
    if contacted_days_ago is not None:
        await _contact(client, org, who, customer["id"], contacted_days_ago)
    return customer, opp


async def _contact(client, org, who, customer_id, days_ago, kind="call"):
    resp = await client.post("/api/v1/activities", headers=org.auth(who),
                             json={"customer_id": customer_id, "kind": kind, "occurred_at": _ago(days_ago)})
    assert resp.status_code == 201, resp.text


async def _silent(client, org, who, scope="me"):
    resp = await client.get("/api/v1/workbench/silent", params={"scope": scope}, headers=org.auth(who))
    assert resp.status_code == 200, resp.text
    return resp.json()


def _names(page):
    return [i["customer_name"] for i in page["items"]]


@pytest.fixture
async def dataset(client):
    """rep_a1: 宁波 (initial contact, 10 d, ¥90,000), 苏州 (price comparison: 5-day threshold, 6 d), 杭州 (3 d: not
    silent), 无锡 (no deal, 8 d), 常州 (no deal, never contacted, created 20 d ago), 扬州 (no deal, 7 d: not yet).
    rep_a2 (Team A): 南通 (9 d). rep_b1 (Team B): 深圳 (12 d)."""
    org = await make_org()
    made = {}
    made["宁波"], _ = await _customer(client, org, "rep_a1", "宁波精工", contacted_days_ago=10, stage="initial_contact",
                                      amount=90_000)
    made["苏州"], _ = await _customer(client, org, "rep_a1", "苏州恒达", contacted_days_ago=6, stage="price_comparison")
    made["杭州"], _ = await _customer(client, org, "rep_a1", "杭州智链", contacted_days_ago=3, stage="initial_contact")
    made["无锡"], _ = await _customer(client, org, "rep_a1", "无锡华通", contacted_days_ago=8)
    made["常州"], _ = await _customer(client, org, "rep_a1", "常州瑞科")
    await Customer.update({Customer.created_at: datetime.now(timezone.utc) - 20 * D}).where(
        Customer.id == made["常州"]["id"]).run()
    made["扬州"], _ = await _customer(client, org, "rep_a1", "扬州联创", contacted_days_ago=6.9)
    made["南通"], _ = await _customer(client, org, "rep_a2", "南通鑫泰", contacted_days_ago=9)
    made["深圳"], _ = await _customer(client, org, "rep_b1", "深圳德启", contacted_days_ago=12)
    return org, made


async def test_silent_list_is_measured_from_customer_contact_and_sorted_by_risk(client, dataset):
    org, made = dataset
    # an internal note and a record edit do not end the silence
    note = await client.post("/api/v1/activities", headers=org.auth("rep_a1"),
                             json={"customer_id": made["宁波"]["id"], "kind": "note", "note": "内部备注"})
    assert note.status_code == 201
    page = await _silent(client, org, "rep_a1")
    # risk: 常州 13 × 1 × 1 = 13; 宁波 3 × 2 (¥90,000) × 1 = 6; 苏州 1 × 1 × 1.5 = 1.5; 无锡 1 × 1 × 1 = 1
    assert _names(page) == ["常州瑞科", "宁波精工", "苏州恒达", "无锡华通"]
    assert page["total"] == 4 and page["scope"] == "me"
    first, second = page["items"][0], page["items"][1]
    assert set(first) >= {"customer_id", "opportunity_id", "customer_name", "phone", "days_silent",
                          "last_contact_at", "owner_id"}
    assert (first["days_silent"], first["last_contact_at"], first["opportunity_id"]) == (20, None, None)
    assert first["risk"] == pytest.approx(13.0, abs=0.01)
    assert second["days_silent"] == 10 and second["threshold_days"] == 7 and second["stage"] == "initial_contact"
    assert second["risk"] == pytest.approx(6.0, abs=0.01) and second["amount"] == 90_000
    assert second["phone"] == "+8613900001111" and second["owner_id"] == org.ids["rep_a1"]
    assert page["items"][2]["threshold_days"] == 5 and page["items"][2]["risk"] == pytest.approx(1.5, abs=0.01)
    assert all(i["meeting_url"] is None for i in page["items"])  # no meeting template configured


async def test_a_rep_never_sees_another_reps_customers_and_a_manager_sees_the_team_only(client, dataset):
    org, _ = dataset
    assert _names(await _silent(client, org, "rep_a2")) == ["南通鑫泰"]
    assert _names(await _silent(client, org, "rep_b1")) == ["深圳德启"]
    assert _names(await _silent(client, org, "mgr_a")) == []  # owns nothing
    team_a = await _silent(client, org, "mgr_a", "team")
    assert sorted(_names(team_a)) == ["南通鑫泰", "宁波精工", "常州瑞科", "无锡华通", "苏州恒达"]
    assert _names(await _silent(client, org, "mgr_b", "team")) == ["深圳德启"]
    assert len((await _silent(client, org, "admin", "team"))["items"]) == 6

    refused = await client.get("/api/v1/workbench/silent", params={"scope": "team"}, headers=org.auth("rep_a1"))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only managers and admins see a team's silent customers; ask for scope=me."
    bad = await client.get("/api/v1/workbench/silent", params={"scope": "everyone"}, headers=org.auth("rep_a1"))
    assert bad.status_code == 400 and "(field scope)" in bad.json()["detail"]


async def test_logging_a_contact_ends_the_silence(client, dataset):
    org, made = dataset
    await _contact(client, org, "rep_a1", made["宁波"]["id"], 0)
    assert "宁波精工" not in _names(await _silent(client, org, "rep_a1"))
    # a contact logged by a colleague counts too: silence is about the customer, not who called
    await _contact(client, org, "admin", made["无锡"]["id"], 0, kind="visit")
    assert _names(await _silent(client, org, "rep_a1")) == ["常州瑞科", "苏州恒达"]


async def test_snooze_hides_the_customer_until_the_day_after_and_is_audited(client, dataset):
    org, made = dataset
    today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
    body = {"customer_id": made["宁波"]["id"], "reason": "客户出国参展，12 月初回来", "until": (today + 3 * D).isoformat()}
    resp = await client.post("/api/v1/workbench/snoozes", json=body, headers=org.auth("rep_a1"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["until"] == body["until"] and resp.json()["user_id"] == org.ids["rep_a1"]
    page = await _silent(client, org, "rep_a1")
    assert "宁波精工" not in _names(page)
    assert [(s["customer_name"], s["reason"]) for s in page["snoozed"]] == [("宁波精工", "客户出国参展，12 月初回来")]
    audit = await AuditLog.select().where(AuditLog.action == "customer.snooze").run()
    assert [(a["target_id"], a["actor_id"] is not None) for a in audit] == [(made["宁波"]["id"], True)]

    # the snooze runs through its last day; the day after, the customer is back
    await CustomerSnooze.update({CustomerSnooze.until: today}).where(
        CustomerSnooze.customer == made["宁波"]["id"]).run()
    assert "宁波精工" not in _names(await _silent(client, org, "rep_a1"))
    await CustomerSnooze.update({CustomerSnooze.until: today - D}).where(
        CustomerSnooze.customer == made["宁波"]["id"]).run()
    page = await _silent(client, org, "rep_a1")
    assert "宁波精工" in _names(page) and page["snoozed"] == []


async def test_a_new_snooze_replaces_the_last_and_ending_it_brings_the_customer_back(client, dataset):
    org, made = dataset
    today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
    for days, reason in ((10, "第一次"), (2, "改期")):
        resp = await client.post("/api/v1/workbench/snoozes", headers=org.auth("rep_a1"), json={
            "customer_id": made["无锡"]["id"], "reason": reason, "until": (today + days * D).isoformat()})
        assert resp.status_code == 201, resp.text
    rows = await CustomerSnooze.select(CustomerSnooze.reason, CustomerSnooze.until).run()
    assert [(r["reason"], r["until"]) for r in rows] == [("改期", today + 2 * D)]
    resp = await client.delete(f"/api/v1/workbench/snoozes/{made['无锡']['id']}", headers=org.auth("rep_a1"))
    assert resp.status_code == 204
    assert "无锡华通" in _names(await _silent(client, org, "rep_a1"))
    again = await client.delete(f"/api/v1/workbench/snoozes/{made['无锡']['id']}", headers=org.auth("rep_a1"))
    assert again.status_code == 404
    assert await AuditLog.count().where(AuditLog.action.is_in(["customer.snooze", "customer.snooze_end"])).run() == 3


@pytest.mark.parametrize("change, status, code, words", [
    ({"until": 31}, 422, "invalid_snooze", "at most 30 days"),
    ({"until": -1}, 422, "invalid_snooze", "in the past"),
    ({"reason": "   "}, 422, "reason_required", "why"),
    ({"reason": "长" * 201}, 400, "validation_error", "reason"),
    ({"reason": None}, 400, "validation_error", "reason"),
])
async def test_bad_snoozes_are_refused_with_a_sentence(client, dataset, change, status, code, words):
    org, made = dataset
    today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
    body = {"customer_id": made["宁波"]["id"], "reason": "出差", "until": (today + 5 * D).isoformat()}
    if "until" in change:
        body["until"] = (today + change["until"] * D).isoformat()
    if "reason" in change:
        body["reason"] = change["reason"]
    if body["reason"] is None:
        del body["reason"]
    resp = await client.post("/api/v1/workbench/snoozes", json=body, headers=org.auth("rep_a1"))
    assert resp.status_code == status, resp.text
    assert resp.json()["code"] == code and words in resp.json()["detail"]
    assert await CustomerSnooze.count().run() == 0


async def test_nobody_snoozes_a_customer_they_may_not_see(client, dataset):
    org, made = dataset
    today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
    resp = await client.post("/api/v1/workbench/snoozes", headers=org.auth("rep_b1"), json={
        "customer_id": made["宁波"]["id"], "reason": "x", "until": today.isoformat()})
    assert resp.status_code == 404
    resp = await client.delete(f"/api/v1/workbench/snoozes/{made['宁波']['id']}", headers=org.auth("rep_b1"))
    assert resp.status_code == 404


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=SHANGHAI).astimezone(timezone.utc)


async def test_the_0900_digest_tells_each_owner_once_a_day(client, settings, dataset):
    org, made = dataset
    today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
    snoozed = await client.post("/api/v1/workbench/snoozes", headers=org.auth("rep_a1"), json={
        "customer_id": made["苏州"]["id"], "reason": "在走合同流程", "until": (today + 1 * D).isoformat()})
    assert snoozed.status_code == 201
    deps = jobs.Deps.build(settings)
    tomorrow = today + D

    summary = dict(await jobs.run_once(_local(tomorrow, time(8, 59)), deps))
    assert summary["silent_digest"] == "not yet 09:00"
    assert await InboxItem.count().run() == 0

    summary = dict(await jobs.run_once(_local(tomorrow, time(9, 0)), deps))
    assert summary["silent_digest"].endswith("3 sent (3 owners with silent customers)"), summary
    inbox = (await client.get("/api/v1/inbox", headers=org.auth("rep_a1"))).json()["items"]
    # tomorrow: 常州, 宁波, 无锡, 扬州 (now 7.9 days) — 苏州 is snoozed through tomorrow, 杭州 is at 4 days
    assert [(i["kind"], i["title"], i["url"]) for i in inbox] == [("silent_digest", "4 位客户已沉默", "/workbench")]
    assert [i["title"] for i in (await client.get("/api/v1/inbox", headers=org.auth("rep_b1"))).json()["items"]] == [
        "1 位客户已沉默"]

    for at in (time(9, 1), time(18, 0)):  # reruns that day add nothing
        assert "already sent" in dict(await jobs.run_once(_local(tomorrow, at), deps))["silent_digest"]
    assert await Alert.count().where(Alert.kind == "silent_digest").run() == 3

    await jobs.run_once(_local(tomorrow + D, time(9, 30)), deps)  # the next day: 苏州's snooze is over
    inbox = (await client.get("/api/v1/inbox", headers=org.auth("rep_a1"))).json()["items"]
    assert [i["title"] for i in inbox] == ["5 位客户已沉默", "4 位客户已沉默"]
    assert await Alert.count().where(Alert.kind == "silent_digest").run() == 6
