"""Migrations, append-only tables, concurrent writes, and the demo organisation."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from server import db, demo
from server.tables import Activity, AuditLog, Customer, Opportunity, StageTransition, Team, User

from tests.integration.helpers import make_org


async def test_migrations_apply_twice_without_change(client):
    from piccolo.apps.migrations.tables import Migration

    from server.tables import ALL_TABLES

    engine = db.current_engine()
    before = await Migration.count().run()
    await db.migrate(engine)  # already applied by the template: nothing to do, no error
    assert await Migration.count().run() == before >= 2
    for table in ALL_TABLES:  # every table exists and is empty in a fresh database, except that the
        # app's start imported the playbook file as the first playbook version
        expected = 1 if table._meta.tablename == "playbook_version" else 0
        assert await table.count().run() == expected, table._meta.tablename


async def test_stage_transition_log_is_append_only(client):
    org = await make_org()
    customer = Customer(name="甲", owner=org.ids["rep_a1"])
    await Customer.insert(customer).run()
    opp = Opportunity(customer=customer.id, title="t", owner=org.ids["rep_a1"], stage="initial_contact")
    await Opportunity.insert(opp).run()
    row = StageTransition(opportunity=opp.id, user=org.ids["rep_a1"], to_stage="initial_contact")
    await StageTransition.insert(row).run()
    with pytest.raises(Exception, match="append-only"):
        await StageTransition.update({StageTransition.to_stage: "won"}).where(StageTransition.id == row.id).run()
    with pytest.raises(Exception, match="append-only"):
        await StageTransition.delete().where(StageTransition.id == row.id).run()
    with pytest.raises(Exception, match="append-only"):
        await AuditLog.delete().where(AuditLog.action == "user.create").run()
    assert await StageTransition.count().run() == 1


async def test_two_hundred_concurrent_writes_never_hit_database_is_locked(client):
    org = await make_org()
    auth = org.auth("rep_a1")
    created = await client.post("/api/v1/customers", json={"name": "并发客户"}, headers=auth)
    cid = created.json()["id"]

    async def one(i):
        if i % 2:
            return await client.post("/api/v1/customers", json={"name": f"客户{i}"}, headers=auth)
        return await client.post("/api/v1/activities", json={"customer_id": cid, "kind": "call", "note": str(i)},
                                 headers=auth)
    results = await asyncio.gather(*[one(i) for i in range(200)])
    failures = [r.text for r in results if r.status_code != 201]
    assert failures == []
    assert await Customer.count().run() == 101
    assert await Activity.count().run() == 100


async def test_demo_organisation_loads_once(client):
    now = datetime.now(timezone.utc)
    assert await demo.load(now=now) is True
    counts = (await User.count().run(), await Customer.count().run(), await Activity.count().run(),
              await Opportunity.count().run())
    assert await demo.load(now=now) is False
    assert counts == (await User.count().run(), await Customer.count().run(), await Activity.count().run(),
                      await Opportunity.count().run())
    assert counts[0] == 15 and counts[1] == 200
    assert await Team.count().run() == 2
    assert all(t["manager_id"] for t in await Team.select(Team.manager_id).run())
    stages = {r["stage"] for r in await Opportunity.select(Opportunity.stage).run()}
    assert len(stages) >= 7
    silent = await Customer.count().where(
        (Customer.last_contact_at < now - timedelta(days=10)) & (Customer.last_contact_at > now - timedelta(days=51))
    ).run()
    assert silent >= 20
    assert all(c["phone"].startswith("+86") for c in await Customer.select(Customer.phone).run())
    # every demo login works with the documented password
    resp = await client.post("/api/v1/auth/login", json={"username": "zhang.wei", "password": demo.DEMO_PASSWORD})
    assert resp.status_code == 200
