"""Pure rules of the admin screens: manager loops, temporary passwords, reading and checking import files."""

from __future__ import annotations

import io
import zipfile

import pytest

from server.domain.org import manager_loop, password_problem, temporary_password
from server.domain.spreadsheet import SheetError, check_zip, read_sheet
from server.domain.user_import import creation_order, parse_roles, plan_import


def test_manager_loop_finds_the_chain_it_would_close():
    managers = {"b": "c", "c": "a", "d": None}
    assert manager_loop("a", "b", managers) == ["a", "b", "c", "a"]
    assert manager_loop("a", "a", managers) == ["a", "a"]
    assert manager_loop("a", "d", managers) is None
    assert manager_loop("a", None, managers) is None
    assert manager_loop("a", "x", {"x": "y", "y": "x"}) is None  # an old loop elsewhere ends the walk


def test_temporary_passwords_are_long_enough_and_unambiguous():
    words = {temporary_password() for _ in range(200)}
    assert len(words) == 200
    assert all(len(w) == 12 and not set(w) & set("0O1lI") and password_problem(w) is None for w in words)
    assert password_problem("1234567") == "password_too_short"


def test_roles_accept_english_chinese_and_several_separators():
    assert parse_roles("rep, Manager") == (("rep", "manager"), [])
    assert parse_roles("销售、售前；admin") == (("rep", "presales", "admin"), [])
    assert parse_roles("rep,boss") == (("rep",), ["boss"])


def _plan(rows, header=("username", "display_name", "roles", "team", "manager"), existing=None):
    return plan_import(list(header), [(n, list(r)) for n, r in enumerate(rows, start=2)],
                       existing_users=existing or {"old": True, "gone": False}, existing_teams={"A"})


def test_plan_checks_every_row_and_the_managers_across_the_file():
    plan = _plan([("a", "甲", "rep", "A", "b"), ("b", "乙", "manager", "B", "a"), ("c", "", "rep", "", "gone"),
                  ("d", "丁", "rep", "", "old"), ("", "戊", "rep", "", "")])
    codes = [(i.row, i.code) for i in plan.issues]
    assert (2, "manager_loop") in codes and (4, "manager_disabled") in codes and (6, "username_required") in codes
    assert all(row != 5 for row, _ in codes)
    assert plan.new_teams == ["B"] and plan.rows[2].display_name == "c"


def test_plan_orders_managers_before_their_people():
    plan = _plan([("a", "甲", "rep", "", "b"), ("b", "乙", "manager", "", "c"), ("c", "丙", "manager", "", "")])
    assert plan.ok
    assert [r.username for r in creation_order(plan.rows)] == ["c", "b", "a"]


def test_header_aliases_and_duplicates():
    assert _plan([("x", "X", "rep")], header=("用户名", "姓名", "角色")).ok
    dup = _plan([("x", "X", "rep", "y")], header=("username", "display_name", "roles", "用户名"))
    assert [i.code for i in dup.issues] == ["duplicate_column"]


def test_csv_is_read_with_or_without_bom_and_with_semicolons():
    with_bom = read_sheet("\ufeffusername,display_name,roles\nli,李,rep\n\n".encode())
    assert with_bom.kind == "csv" and with_bom.header == ["username", "display_name", "roles"]
    assert with_bom.rows == [(2, ["li", "李", "rep"])]
    semi = read_sheet("username;display_name;roles\r\nli;李;rep,manager\r\n".encode())
    assert semi.rows == [(2, ["li", "李", "rep,manager"])]


def test_a_zip_whose_headers_lie_about_the_size_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        zf.writestr("xl/workbook.xml", b"<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (21 * 1024 * 1024) + b">")
    data = bytearray(buffer.getvalue())
    # Rewrite the declared uncompressed size of the big entry (local header and central directory) to 1 KB.
    name = b"xl/worksheets/sheet1.xml"
    true_size = (21 * 1024 * 1024 + 2).to_bytes(4, "little")
    for at in [i for i in range(len(data)) if data.startswith(true_size, i)]:
        data[at:at + 4] = (1024).to_bytes(4, "little")
    assert name in data
    with pytest.raises(SheetError) as refused:
        check_zip(bytes(data))
    assert refused.value.status in (413, 415)
