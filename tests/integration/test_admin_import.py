"""Importing users from CSV and XLSX: preview with per-row errors, all-or-nothing commit, hostile files."""

from __future__ import annotations

import io
import zipfile

import openpyxl

from server.queries.users import verify_password
from server.tables import AuditLog, Team, User
from tests.integration.helpers import make_org

PREVIEW = "/api/v1/admin/users/import/preview"
COMMIT = "/api/v1/admin/users/import"

GOOD_CSV = (
    "username,display_name,roles,team,manager,phone,password\n"
    "li.na,李娜,\"manager,rep\",华北大区,,13800000001,\n"
    "wang.fang,王芳,rep,华北大区,li.na,13800000002,王芳的密码123\n"
    "zhao.lei,赵磊,售前,Team A,mgr_a,,\n"
)

BAD_CSV = (
    "username,display_name,roles,team,manager,phone\n"
    "chen.jie,陈杰,boss,Team A,,\n"         # row 2: unknown role
    "sun.li,孙丽,rep,Team A,nobody,\n"      # row 3: unknown manager
    "chen.jie,陈杰二,rep,Team A,,\n"        # row 4: repeated username
    "rep_a1,已有,rep,,,\n"                  # row 5: exists already
    "ok.user,好人,rep,,,138\n"              # row 6: bad phone
    "zhou.min,周敏,rep,,,\n"                # row 7: fine
)


def _file(name: str, data: bytes, kind: str = "text/csv") -> dict:
    return {"file": (name, data, kind)}


async def _preview(client, auth, name, data, kind="text/csv"):
    return await client.post(PREVIEW, headers=auth, files=_file(name, data, kind))


async def test_preview_names_every_problem_with_its_row_and_writes_nothing(client):
    org = await make_org()
    users_before, teams_before = await User.count().run(), await Team.count().run()
    resp = await _preview(client, org.auth("admin"), "users.csv", BAD_CSV.encode())
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["ok"] is False and body["kind"] == "csv" and len(body["rows"]) == 6
    problems = {(e["row"], e["field"], e["code"]) for e in body["errors"]}
    assert problems == {(2, "roles", "role_unknown"), (3, "manager", "manager_unknown"),
                        (4, "username", "username_repeated"), (5, "username", "username_taken"),
                        (6, "phone", "phone_invalid")}
    by_row = {r["row"]: r for r in body["rows"]}
    assert by_row[7]["errors"] == [] and by_row[2]["errors"]
    assert all(e["message"].endswith(("。", ".")) for e in body["errors"])
    assert "boss" in next(e["message"] for e in body["errors"] if e["row"] == 2)
    assert await User.count().run() == users_before and await Team.count().run() == teams_before


async def test_preview_messages_follow_the_language(client):
    org = await make_org()
    zh = (await _preview(client, org.auth("admin"), "u.csv", BAD_CSV.encode())).json()
    assert "未知角色" in next(e["message"] for e in zh["errors"] if e["row"] == 2)
    client.cookies.set("sg_lang", "en")
    en = (await _preview(client, org.auth("admin"), "u.csv", BAD_CSV.encode())).json()
    assert next(e["message"] for e in en["errors"] if e["row"] == 2).startswith("Unknown role boss")


async def test_a_missing_column_is_reported_on_the_header_row(client):
    org = await make_org()
    resp = await _preview(client, org.auth("admin"), "u.csv", b"username,display_name,team\nx,X,Team A\n")
    body = resp.json()
    assert body["ok"] is False and body["rows"] == []
    assert [(e["row"], e["code"], e["field"]) for e in body["errors"]] == [(1, "missing_column", "roles")]


async def test_commit_is_all_or_nothing(client):
    org = await make_org()
    auth = org.auth("admin")
    users_before = await User.count().run()
    refused = await client.post(COMMIT, headers=auth, files=_file("u.csv", BAD_CSV.encode()))
    assert refused.status_code == 422 and refused.json()["code"] == "import_invalid"
    assert len(refused.json()["extra"]["errors"]) == 5
    assert await User.count().run() == users_before
    assert await AuditLog.count().where(AuditLog.action == "user.import").run() == 0

    done = await client.post(COMMIT, headers=auth, files=_file("u.csv", GOOD_CSV.encode()))
    assert done.status_code == 201, done.text
    assert done.headers["cache-control"] == "no-store"
    result = done.json()
    assert result["created"] == 3 and result["teams_created"] == ["华北大区"]
    temporary = {u["username"]: u["temporary_password"] for u in result["users"]}
    assert temporary["wang.fang"] is None and temporary["li.na"] and temporary["zhao.lei"]
    rows = {r["username"]: r for r in await User.select(User.all_columns(), User.team.name, User.manager.username).where(
        User.username.is_in(["li.na", "wang.fang", "zhao.lei"])).run()}
    assert rows["wang.fang"]["manager.username"] == "li.na" and rows["wang.fang"]["team.name"] == "华北大区"
    assert rows["zhao.lei"]["roles"] == ",presales," and rows["zhao.lei"]["manager.username"] == "mgr_a"
    assert rows["li.na"]["phone"] == "+8613800000001"
    assert all(r["must_change_password"] for r in rows.values())
    assert verify_password(rows["wang.fang"]["password_hash"], "王芳的密码123")
    assert verify_password(rows["li.na"]["password_hash"], temporary["li.na"])
    team = await Team.select().where(Team.name == "华北大区").first().run()
    assert team["manager_id"] == rows["li.na"]["id"]  # a manager in a new team manages it
    assert await AuditLog.count().where(AuditLog.action == "user.create").where(
        AuditLog.actor_id == org.ids["admin"]).run() == 3
    assert await AuditLog.count().where(AuditLog.action == "user.import").run() == 1
    again = await client.post(COMMIT, headers=auth, files=_file("u.csv", GOOD_CSV.encode()))
    assert again.status_code == 422 and {e["code"] for e in again.json()["extra"]["errors"]} == {"username_taken"}


async def test_csv_with_bom_chinese_headers_and_names(client):
    org = await make_org()
    text = "用户名,姓名,角色,团队,上级,手机\r\nliu.yang,刘洋,销售、售前,华东一部,mgr_a,+86 139 0000 0003\r\n"
    resp = await client.post(COMMIT, headers=org.auth("admin"),
                             files=_file("用户.csv", b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert resp.status_code == 201, resp.text
    row = await User.select().where(User.username == "liu.yang").first().run()
    assert row["display_name"] == "刘洋" and row["roles"] == ",rep,presales," and row["phone"] == "+8613900000003"


async def test_an_xlsx_built_with_openpyxl_is_read(client):
    org = await make_org()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["username", "display_name", "roles", "team", "manager", "phone", "备注"])
    sheet.append(["xu.jing", "徐静", "rep", "Team B", "mgr_b", 13800000009, "新员工"])
    sheet.append([None, None, None, None, None, None, None])
    sheet.append(["he.tao", "何涛", "delivery,service", None, None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    preview = await _preview(client, org.auth("admin"), "users.xlsx", buffer.getvalue(), xlsx)
    body = preview.json()
    assert preview.status_code == 200 and body["ok"] and body["kind"] == "xlsx", body
    assert [r["row"] for r in body["rows"]] == [2, 4] and body["ignored_columns"] == ["备注"]
    assert body["rows"][0]["phone"] == "+8613800000009"
    done = await client.post(COMMIT, headers=org.auth("admin"), files=_file("users.xlsx", buffer.getvalue(), xlsx))
    assert done.status_code == 201 and done.json()["created"] == 2


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


async def test_a_zip_bomb_is_refused_before_it_is_opened(client):
    org = await make_org()
    bomb = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                 "xl/worksheets/sheet1.xml": b"<" + b"0" * (60 * 1024 * 1024) + b">"})
    assert len(bomb) < 200 * 1024
    for url in (PREVIEW, COMMIT):
        resp = await client.post(url, headers=org.auth("admin"), files=_file("bomb.xlsx", bomb, "application/zip"))
        assert resp.status_code == 413, resp.text
        assert resp.json()["code"] == "archive_too_large" and "20 MB" in resp.json()["detail"]


async def test_a_workbook_with_a_dtd_and_other_odd_files_are_refused(client):
    org = await make_org()
    auth = org.auth("admin")
    laughs = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml":
                   b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><workbook>&lol;</workbook>'})
    cases = [
        (laughs, 415, "unsupported_file_type"),
        (_zip({"readme.txt": b"hello"}), 415, "unsupported_file_type"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 415, "unsupported_file_type"),
        ("用户名,姓名,角色\n张三,张三,rep\n".encode("gbk"), 422, "invalid_encoding"),
        (b"", 422, "empty_file"),
        (b"username,display_name,roles\n" + b"a,b,rep\n" * 300_000, 413, None),
    ]
    for data, status, code in cases:
        resp = await client.post(PREVIEW, headers=auth, files=_file("x.xlsx", data))
        assert resp.status_code == status, (code, resp.text[:300])
        assert resp.json()["detail"].endswith("."), resp.text[:300]
        if code:
            assert resp.json()["code"] == code
    raw = await client.post(PREVIEW, headers=auth | {"Content-Type": "text/csv"},
                            content=b"username,display_name,roles\nraw.user,Raw,rep\n")
    assert raw.status_code == 200 and raw.json()["ok"]
