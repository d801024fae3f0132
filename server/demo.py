"""The demo organisation: loaded once by ``salesgate serve --demo``.

One company, two regional teams with managers, eight reps, presales,
delivery, commercial, legal and an admin; about 200 customers with Chinese
names and +86 numbers; opportunities over the stages; 60 days of activity,
with some customers silent for 10-50 days. Deterministic (seeded).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from server.db import write_transaction
from server.queries import audit, users
from server.tables import Activity, AuditLog, Contact, Customer, Opportunity, StageTransition, User

DEMO_PASSWORD = "salesgate-demo"

# Stage keys of the shipped playbook, in order.
STAGES = ["initial_contact", "needs_analysis", "solution_confirmed", "price_comparison",
          "contract_approval", "signed", "delivery_kickoff", "won", "lost"]
SIGNED_SUBSTATES = ["pending_legal_archive", "pending_delivery_scheduling", "pending_kickoff_meeting"]

PEOPLE = [
    # username, display name, roles, team, manager
    ("admin", "系统管理员", ("admin",), None, None),
    ("wang.manager", "王建国", ("manager", "rep"), "华东大区", None),
    ("li.manager", "李海燕", ("manager", "rep"), "华南大区", None),
    ("zhang.wei", "张伟", ("rep",), "华东大区", "wang.manager"),
    ("liu.yang", "刘洋", ("rep",), "华东大区", "wang.manager"),
    ("chen.jing", "陈静", ("rep",), "华东大区", "wang.manager"),
    ("yang.fan", "杨帆", ("rep",), "华东大区", "wang.manager"),
    ("zhao.lei", "赵磊", ("rep",), "华南大区", "li.manager"),
    ("huang.min", "黄敏", ("rep",), "华南大区", "li.manager"),
    ("zhou.jie", "周杰", ("rep",), "华南大区", "li.manager"),
    ("wu.xia", "吴霞", ("rep",), "华南大区", "li.manager"),
    ("sun.presales", "孙晓峰", ("presales",), "华东大区", "wang.manager"),
    ("he.delivery", "何志强", ("delivery",), "华东大区", "wang.manager"),
    ("gao.commercial", "高丽", ("commercial",), "华东大区", "wang.manager"),
    ("lin.legal", "林律", ("legal",), "华南大区", "li.manager"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "志强", "海涛", "晓东", "文博", "雅琴", "子涵", "宇航", "国华", "红梅"]
CITIES = ["上海", "杭州", "苏州", "宁波", "南京", "无锡", "深圳", "广州", "东莞", "佛山", "厦门", "合肥"]
TRADES = ["智能装备", "自动化", "精密机械", "电气", "物流科技", "医疗器械", "新材料", "汽车零部件", "仓储系统", "工业软件"]
SUFFIX = ["有限公司", "股份有限公司", "科技有限公司", "集团有限公司"]
TITLES = ["采购经理", "技术总监", "设备部主管", "总经理", "项目经理", "工程师", "采购专员", "生产副总"]
# keys of the shipped playbook's product catalogue
PRODUCT_KEYS = ["servo_drive", "plc", "machine_vision", "agv", "racking", "conveyor", "robot_arm", "inverter"]
PRODUCTS = ["伺服驱动器", "PLC 控制器", "工业相机", "AGV 小车", "立体货架", "输送线", "机械臂", "变频器"]
MOBILE_PREFIXES = ["138", "139", "136", "137", "150", "151", "152", "158", "159", "186", "187", "188", "135", "133", "177", "189"]


def _phone(rng: random.Random) -> str:
    return "+86" + rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


async def already_loaded() -> bool:
    return await AuditLog.exists().where(AuditLog.action == "demo.load").run()


async def load(now: datetime | None = None, seed: int = 7) -> bool:
    """Load the demo organisation unless it is there already. Returns True when loaded."""
    if await already_loaded():
        return False
    now = now or datetime.now(timezone.utc)
    rng = random.Random(seed)
    ids: dict[str, object] = {}
    shared_hash = users.hash_password(DEMO_PASSWORD)  # one hash: every demo login has this password
    for username, display, roles, team, manager in PEOPLE:
        existing = await User.select(User.id).where(User.username == username).first().run()
        if existing:
            ids[username] = existing["id"]
            continue
        user = await users.create_user(username=username, password=DEMO_PASSWORD, roles=roles,
                                       display_name=display, team=team, manager_username=manager,
                                       password_hash=shared_hash)
        ids[username] = user.id
    team_of = {r["id"]: r["team"] for r in await User.select(User.id, User.team).run()}
    reps = [u for u, _, roles, _, _ in PEOPLE if "rep" in roles]
    collaborators = {"presales": ids["sun.presales"], "delivery": ids["he.delivery"]}

    customers, contacts, opps, transitions, acts = [], [], [], [], []
    for i in range(200):
        owner = ids[rng.choice(reps)]
        city = rng.choice(CITIES)
        company = f"{city}{rng.choice(['华', '恒', '瑞', '鑫', '德', '启', '联', '创'])}{rng.choice(['达', '通', '远', '科', '泰', '盛', '宇', '邦'])}{rng.choice(TRADES)}{rng.choice(SUFFIX)}"
        # silence: most customers recently contacted, some silent 10-50 days, a few never
        roll = rng.random()
        silent_days = rng.uniform(0, 6) if roll < 0.6 else (rng.uniform(10, 50) if roll < 0.9 else None)
        created = now - timedelta(days=rng.uniform(55, 60))
        last = now - timedelta(days=silent_days) if silent_days is not None else None
        customer = Customer(name=_name(rng), phone=_phone(rng), company=company, title=rng.choice(TITLES),
                            owner=owner, team=team_of[owner], source=rng.choice(["展会", "转介绍", "官网", "老客户"]),
                            last_contact_at=last, created_at=created, updated_at=created)
        customers.append(customer)
        for _ in range(rng.randint(1, 2)):
            contacts.append(Contact(customer=customer.id, name=_name(rng), phone=_phone(rng),
                                    title=rng.choice(TITLES), is_key=True))
        # activities over the last 60 days, ending at the last contact
        if last is not None:
            t = created
            while t < last:
                kind = rng.choice(["call", "call", "visit", "meeting", "message", "note"])
                acts.append(Activity(customer=customer.id, user=owner, kind=kind,
                                     customer_facing=kind != "note", occurred_at=t, created_at=t,
                                     note=rng.choice(["确认需求", "发送报价", "约下周拜访", "技术交流", None])))
                t += timedelta(days=rng.uniform(3, 12))
            acts.append(Activity(customer=customer.id, user=owner, kind="call", customer_facing=True,
                                 occurred_at=last, created_at=last, note="电话跟进"))
        if i % 3 != 2:
            stage = rng.choices(STAGES, weights=[20, 16, 12, 10, 8, 10, 6, 10, 8])[0]
            substate = rng.choice(SIGNED_SUBSTATES) if stage == "signed" else None
            status = {"won": "won", "lost": "lost"}.get(stage, "open")
            entered = now - timedelta(days=rng.uniform(1, 20))
            fields = {}
            if stage in ("signed", "delivery_kickoff", "won"):
                fields["contract_no"] = f"HT-2026-{rng.randint(1000, 9999)}"
            if stage in ("delivery_kickoff", "won"):
                fields["delivery_date"] = (now - timedelta(days=rng.randint(5, 40))).date().isoformat()
                # what a repeat order takes over: the models and quantity of the last order
                fields["products"] = rng.sample(PRODUCT_KEYS, rng.randint(1, 2))
                fields["quantity"] = rng.choice([2, 5, 10, 20, 50])
            # the deal was opened 3-11 days before it entered its stage (no extra random draws: the rest of
            # the demo stays as it was), and passed solution confirmed on the way (the PHI's transition time)
            opened = entered - timedelta(days=3 + i % 9) if stage != STAGES[0] else created
            opp = Opportunity(customer=customer.id, title=f"{rng.choice(PRODUCTS)} 采购项目", owner=owner,
                              team=team_of[owner], amount=Decimal(rng.randrange(50_000, 3_000_000, 1000)),
                              stage=stage, substate=substate, status=status, fields=fields,
                              lost_reason="价格不占优" if stage == "lost" else None,
                              stage_entered_at=entered, last_contact_at=last, created_at=opened,
                              updated_at=entered)
            opps.append(opp)
            transitions.append(StageTransition(opportunity=opp.id, user=owner, to_stage=STAGES[0], at=opened))
            came_from = STAGES[0]
            if STAGES.index("solution_confirmed") < STAGES.index(stage) < STAGES.index("lost"):
                transitions.append(StageTransition(opportunity=opp.id, user=owner, from_stage=came_from,
                                                   to_stage="solution_confirmed", at=opened + (entered - opened) * 0.6))
                came_from = "solution_confirmed"
            if stage != STAGES[0]:
                transitions.append(StageTransition(opportunity=opp.id, user=owner, from_stage=came_from,
                                                   to_stage=stage, to_substate=substate, at=entered))
    async with write_transaction():
        await Customer.insert(*customers).run()
        await Contact.insert(*contacts).run()
        await Opportunity.insert(*opps).run()
        await StageTransition.insert(*transitions).run()
        for start in range(0, len(acts), 500):
            await Activity.insert(*acts[start:start + 500]).run()
        from server.tables import OpportunityCollaborator

        collab = [OpportunityCollaborator(opportunity=o.id, user=collaborators["presales"], role="presales")
                  for o in opps[::4]]
        collab += [OpportunityCollaborator(opportunity=o.id, user=collaborators["delivery"], role="delivery")
                   for o in opps if o.stage in ("signed", "delivery_kickoff")]
        if collab:
            await OpportunityCollaborator.insert(*collab).run()
        await _pin_key_accounts(opps, now)
        await audit.record("demo.load", detail={"customers": len(customers), "opportunities": len(opps),
                                                "activities": len(acts)})
    return True


async def _pin_key_accounts(opps: list, now: datetime) -> None:
    """The manager board's key accounts: per team, the customers of its three biggest open deals in contract
    approval, signed or delivery kickoff, pinned by the team's manager."""
    from server.tables import BoardPin, Team

    managers = {r["id"]: r["manager_id"] for r in await Team.select(Team.id, Team.manager_id).run()}
    chosen: dict = {}
    for o in sorted(opps, key=lambda o: -o.amount):
        if o.status == "open" and o.stage in ("contract_approval", "signed", "delivery_kickoff") and o.team:
            picked = chosen.setdefault(o.team, [])
            if len(picked) < 3 and o.customer not in picked:
                picked.append(o.customer)
    pins = [BoardPin(team=team, customer=customer, position=i + 1, pinned_by=managers.get(team), pinned_at=now)
            for team, customers in chosen.items() for i, customer in enumerate(customers)]
    if pins:
        await BoardPin.insert(*pins).run()
