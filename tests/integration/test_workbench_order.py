"""The workbench ranks in SQL (one page leaves the database): its order must be the pure rule's order.

A hand-built dataset with the awkward cases (equal risks with different silences, equal silences,
several silent deals of one customer, a customer whose open deal is not silent, a snoozed customer,
closed deals, large and missing amounts, every open stage) plus a seeded random spread; the list from
the database, at a fixed `now`, is compared with ``silence.most_at_risk`` over the same rows worked
out in Python. Runs on SQLite and on PostgreSQL like every integration test.
"""

import random
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from server.domain import silence
from server.playbook_loader import load_playbook, playbook_path
from server.queries import users, workbench
from server.tables import Customer, CustomerSnooze, Opportunity, User

from tests.integration.helpers import make_org

NOW = datetime(2026, 11, 25, 2, 0, 0, 123456, tzinfo=timezone.utc)
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = timedelta(days=1)


def _id(n: int) -> str:
    return str(uuid.UUID(int=n * 7919 % (1 << 64) + (n << 80)))


async def _build(pb, owner_id, team_id):
    """Insert the dataset; return the candidates the pure rule should rank (snoozed ones left out)."""
    rng = random.Random(20261127)
    factors = silence.stage_factors(pb)
    stages = silence.open_stages(pb)
    customers, opps, candidates = [], [], []

    def customer(n, last_days, created_days=400):
        cid = _id(n)
        last = NOW - last_days * D if last_days is not None else None
        created = NOW - created_days * D
        customers.append(Customer(id=cid, name=f"客户{n:03d}", phone="+8613900000000", owner=owner_id, team=team_id,
                                  last_contact_at=last, created_at=created, updated_at=created))
        return cid, (last or created)

    def opp(n, cid, stage, days, amount, status="open"):
        oid = _id(10_000 + n)
        last = NOW - days * D
        opps.append(Opportunity(id=oid, customer=cid, title=f"商机{n}", amount=None if amount is None else
                                Decimal(amount), owner=owner_id, team=team_id, stage=stage, status=status,
                                last_contact_at=last, created_at=NOW - 500 * D, stage_entered_at=NOW - 500 * D))
        return oid, last

    def add(cid, oid, basis, stage, amount):
        threshold = factors[stage][0] if stage else pb.silence_days
        if NOW - basis > threshold * D:
            candidates.append(silence.Candidate(customer_id=cid, opportunity_id=oid, basis=basis, stage=stage,
                                                amount=None if amount is None else float(amount)))

    # equal silences of two deal-less customers: the customer id decides
    for n in (1, 2):
        cid, basis = customer(n, 12.5)
        add(cid, None, basis, None, None)
    # equal risks (3.00) with different silences: the longer silence first
    cid, basis = customer(3, pb.silence_days + 3)
    add(cid, None, basis, None, None)
    for k, stage in enumerate(stages[1:4]):
        threshold, weight = factors[stage]
        cid, _ = customer(4 + k, 1)
        oid, basis = opp(4 + k, cid, stage, threshold + 3 / weight, None)
        add(cid, oid, basis, stage, None)
    # one customer, several silent deals (the riskiest counts, all are counted) and a closed one (ignored)
    cid, _ = customer(10, 30)
    for k, (stage, days, amount) in enumerate([(stages[0], 9, 5_000), (stages[-1], 9, 5_000), (stages[2], 20, None)]):
        oid, basis = opp(20 + k, cid, stage, days, amount)
        add(cid, oid, basis, stage, amount)
    opp(23, cid, "won", 90, 9_000_000, status="won")
    # one customer, two deals of equal risk: the longer silence; two identical deals: the smaller deal id
    cid, _ = customer(14, 1)
    for k, stage in enumerate(stages[1:3]):
        threshold, weight = factors[stage]
        oid, basis = opp(30 + k, cid, stage, threshold + 3 / weight, None)
        add(cid, oid, basis, stage, None)
    cid, _ = customer(15, 1)
    for n in (41, 40):
        oid, basis = opp(n, cid, stages[1], 25, 70_000)
        add(cid, oid, basis, stages[1], 70_000)
    # the customer is silent but its open deal is not: not on the list
    cid, _ = customer(11, 40)
    opp(24, cid, stages[0], 1, 100_000)
    # a snoozed customer (its silent deal stays off the list)
    cid, _ = customer(12, 40)
    opp(25, cid, stages[0], 60, 1_000_000)
    # never contacted: silent from creation
    cid, basis = customer(13, None, created_days=20)
    add(cid, None, basis, None, None)
    # a seeded spread over every stage, amounts from none to millions
    for n in range(100, 160):
        cid, cbasis = customer(n, rng.uniform(0, 60))
        if rng.random() < 0.3:
            add(cid, None, cbasis, None, None)
            continue
        for k in range(rng.randint(1, 3)):
            stage = rng.choice(stages)
            amount = rng.choice([None, 0, rng.randrange(1_000, 5_000_000, 100)])
            oid, basis = opp(1000 + n * 10 + k, cid, stage, rng.uniform(0, 45), amount)
            add(cid, oid, basis, stage, amount)
    await Customer.insert(*customers).run()
    await Opportunity.insert(*opps).run()
    await CustomerSnooze.insert(CustomerSnooze(customer=_id(12), user=owner_id, reason="出差", until=date(2026, 12, 1),
                                               created_at=NOW)).run()
    return candidates


async def test_the_sql_order_is_the_pure_rules_order(client, settings):
    org = await make_org()
    pb = load_playbook(playbook_path(settings))
    team = (await User.select(User.team).where(User.id == org.ids["rep_a1"]).first().run())["team"]
    candidates = await _build(pb, org.ids["rep_a1"], team)
    expected = silence.most_at_risk(pb, candidates, NOW)
    assert len(expected) > 40  # the dataset really exercises the ranking
    for who, scope_name in (("rep_a1", "me"), ("mgr_a", "team")):
        viewer = await users.viewer_for(org.ids[who])
        page = await workbench.silent_list(viewer, scope_name, pb, SHANGHAI, NOW, limit=1000)
        got = [(i.customer_id, i.opportunity_id, i.risk, i.silent_opportunities) for i in page.items]
        assert got == [(c.customer_id, c.opportunity_id, risk, deals) for c, risk, deals in expected]
        assert page.total == len(expected)
        assert [s.customer_name for s in page.snoozed] == ["客户012"]
    # the hand-made ties came out as the rule says
    names = [i.customer_name for i in page.items]
    assert names.index("客户001") < names.index("客户002")
    equal = [i for i in page.items if i.customer_name in ("客户003", "客户004", "客户005", "客户006")]
    assert [i.risk for i in equal] == [3.0] * 4 and [i.days_silent for i in equal] == sorted(
        (i.days_silent for i in equal), reverse=True)
    several = next(i for i in page.items if i.customer_name == "客户010")
    assert several.silent_opportunities == 3 and several.opportunity_id == _id(10_000 + 22)
    assert "客户011" not in names and "客户012" not in names

    pair = [(c.opportunity_id, c.basis) for c in candidates if c.customer_id == _id(14)]
    longer = min(pair, key=lambda p: p[1])[0]
    assert next(i for i in page.items if i.customer_name == "客户014").opportunity_id == longer
    assert next(i for i in page.items if i.customer_name == "客户015").opportunity_id == _id(10_040)

    # every page is the head of the whole list (the cut falls inside the ties too); the total counts everything
    viewer = await users.viewer_for(org.ids["mgr_a"])
    for limit in range(1, len(expected) + 1):
        page = await workbench.silent_list(viewer, "team", pb, SHANGHAI, NOW, limit=limit)
        assert [i.customer_id for i in page.items] == [c.customer_id for c, _, _ in expected[:limit]], limit
        assert page.total == len(expected)
    # another team's manager sees none of it
    other = await workbench.silent_list(await users.viewer_for(org.ids["mgr_b"]), "team", pb, SHANGHAI, NOW)
    assert other.items == [] and other.total == 0 and other.snoozed == []
