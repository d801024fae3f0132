"""`salesgate demo generate`: a deterministic organisation, real objects in S3, refusal on a non-empty database."""

import asyncio
import hashlib
import re

from server import db
from server.adapters.storage import Storage
from server.domain import filetypes
from server.queries import users
from server.tables import Activity, Attachment, Checkin, Contribution, Customer, NodeInstance, Opportunity, User

from tests.integration.test_cli import _cli, _env

SMALL = ["demo", "generate", "--scale", "small", "--customers", "150", "--open", "40", "--closed", "12",
         "--activities", "900", "--now", "2026-11-27T12:00:00+08:00", "--digest"]


def _s3_env(settings, tmp_path):
    return _env(settings.database_url, tmp_path, SALESGATE_S3_ENDPOINT=settings.s3_endpoint,
                SALESGATE_S3_ACCESS_KEY=settings.s3_access_key, SALESGATE_S3_SECRET_KEY=settings.s3_secret_key,
                SALESGATE_S3_BUCKET=settings.s3_bucket)


def _digest(result) -> str:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return re.search(r"^digest ([0-9a-f]{64})$", result.stdout, re.M).group(1)


def test_generate_is_deterministic_refuses_a_full_database_and_stores_real_files(settings, tmp_path):
    env = _s3_env(settings, tmp_path)
    first = _cli([*SMALL, "--seed", "5"], env)
    digest = _digest(first)
    assert "activities 900 / 900" in first.stdout  # progress is shown
    assert "demo logins (password 'salesgate-demo'): admin, director, mgr00, rep000" in first.stdout

    refused = _cli([*SMALL, "--seed", "5"], env)
    assert refused.returncode == 1
    assert "already holds data" in refused.stderr and "--force" in refused.stderr

    async def look():
        engine = db.build_engine(settings)
        async with db.lifespan_engine(engine):
            counts = {"customers": await Customer.count().run(), "activities": await Activity.count().run(),
                      "open": await Opportunity.count().where(Opportunity.status == "open").run(),
                      "closed": await Opportunity.count().where(Opportunity.status != "open").run(),
                      "reps": await User.count().where(User.roles.like("%,rep,%")).run(),
                      "clocks": await NodeInstance.count().where(NodeInstance.status == "open").run(),
                      "contributions": await Contribution.count().run(), "checkins": await Checkin.count().run()}
            stages = {r["stage"] for r in await Opportunity.select(Opportunity.stage).where(
                Opportunity.status == "open").run()}
            admin = await User.select(User.password_hash).where(User.username == "admin").first().run()
            files = await Attachment.select(Attachment.object_key, Attachment.sha256, Attachment.content_type).run()
        return counts, stages, admin, files
    counts, stages, admin, files = asyncio.run(look())
    # 2 teams × 3 reps, and the two managers, who sell too
    assert counts | {"clocks": 0, "contributions": 0, "checkins": 0} == {
        "customers": 150, "activities": 900, "open": 40, "closed": 12, "reps": 8, "clocks": 0, "contributions": 0,
        "checkins": 0}
    assert counts["clocks"] > 10 and counts["contributions"] > 0 and counts["checkins"] > 0  # clocks planned
    assert len(stages) >= 5  # open deals over the stages
    assert users.verify_password(admin["password_hash"], "salesgate-demo")

    storage = Storage(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                      secret_key=settings.s3_secret_key, bucket=settings.s3_bucket)
    assert len(files) > 10
    kinds = set()
    for row in files[:20]:
        data = asyncio.run(storage.get(row["object_key"]))
        assert data is not None and hashlib.sha256(data).hexdigest() == row["sha256"]
        kind = filetypes.sniff(data)  # the app's own byte check
        assert kind in ("pdf", "png") and filetypes.CONTENT_TYPES[kind] == row["content_type"]
        kinds.add(kind)
    assert kinds == {"pdf", "png"}

    again = _cli([*SMALL, "--seed", "5", "--force"], env)
    assert "--force: the existing data was removed" in again.stdout
    assert _digest(again) == digest  # same seed, same rows
    other = _cli([*SMALL, "--seed", "6", "--force"], env)
    assert _digest(other) != digest


def test_generate_explains_bad_numbers(database_url, tmp_path):
    result = _cli(["demo", "generate", "--scale", "small", "--customers", "0"], _env(database_url, tmp_path))
    assert result.returncode == 2 and "--customers: must be a positive number" in result.stderr
