"""The console refuses what it must, against the real server on 127.0.0.1: requests without the
start token, cross-site posts (no or wrong CSRF token, foreign Origin or Host), path traversal in
an upload name or a URL, uploads above the limits (with a Chinese message saying so)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from consolehelpers import init_qinchuan, open_session, post, request, start_console, unit_list, wait_job

KEY = "安全测试考核"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    home = tmp_path_factory.mktemp("控制台")
    units = unit_list(home.parent / "units.xlsx")
    init_qinchuan(home / KEY, "ip-protection-2021", units, "2030-05-27")
    c = start_console(home, "--max-upload-mb", "2", "--max-file-mb", "1")
    c.home = home
    yield c
    c.stop()


@pytest.fixture(scope="module")
def session(console):
    return open_session(console)


def inbox_files(console) -> list[Path]:
    return sorted(p for p in (console.home / KEY / "inbox").rglob("*") if p.is_file())


def quoted(text: str) -> str:
    from urllib.parse import quote
    return quote(text)


def test_without_the_token_every_page_is_refused_in_chinese(console):
    for path in ("/", f"/c/{quoted(KEY)}", f"/c/{quoted(KEY)}/files/units.csv", "/?token=wrong"):
        status, _, text = request(console, "GET", path)
        assert status == 403 and "W001" in text and "没有访问权限" in text
    status, _, text = request(console, "GET", "/", headers={"Cookie": "xw_console=guessed"})
    assert status == 403 and "W001" in text


def test_the_token_opens_the_console_and_is_dropped_from_the_address(console, session):
    status, headers, _ = request(console, "GET", f"/c/{quoted(KEY)}?token={console.token}&show=late")
    assert status == 303 and headers["location"] == f"/c/{quoted(KEY)}?show=late"
    status, _, text = request(console, "GET", f"/c/{quoted(KEY)}", headers={"Cookie": session[0]})
    assert status == 200 and "报送情况" in text


def test_a_foreign_host_name_is_refused(console, session):
    """DNS rebinding: a page of evil.example resolved to 127.0.0.1 still names its own host."""
    status, _, text = request(console, "GET", "/", headers={"Cookie": session[0],
                                                            "Host": f"evil.example:{console.base.rsplit(':', 1)[1]}"})
    assert status == 403 and "W012" in text


POSTS = ["/new", f"/c/{quoted(KEY)}/generate", f"/c/{quoted(KEY)}/inbox",
         f"/c/{quoted(KEY)}/params", f"/c/{quoted(KEY)}/review", f"/c/{quoted(KEY)}/mail"]


@pytest.mark.parametrize("path", POSTS)
def test_cross_site_posts_are_refused_on_every_form(console, session, path):
    before = sorted((console.home).rglob("*"))
    for kind in ("no token", "wrong token", "foreign origin", "no cookie"):
        status, _, text = post(
            console, session, path, {"folder": "跨站新建", "host": "smtp.example.cn", "password": "x"},
            csrf={"no token": False, "wrong token": "0" * 64}.get(kind, True),
            extra={"foreign origin": {"Origin": "http://evil.example"},
                   "no cookie": {"Cookie": ""}}.get(kind))
        assert status == 403, (kind, text)
        assert ("W001" if kind == "no cookie" else "W002") in text, kind
    assert sorted((console.home).rglob("*")) == before      # nothing was created or changed


@pytest.mark.parametrize("name", ["../../逃逸.xlsx", "收件/../../../逃逸.xlsx", "/etc/逃逸.xlsx",
                                  "..\\..\\逃逸.xlsx", "收件\\..\\..\\逃逸.xlsx"])
def test_path_traversal_in_an_upload_name_is_refused(console, session, name):
    status, _, text = post(console, session, f"/c/{quoted(KEY)}/inbox",
                           files=[("files", name, b"PK\x03\x04 not really a workbook")],
                           extra={"Accept": "application/json"})
    assert status == 400
    assert json.loads(text)["errors"][0]["code"] == "W005"
    assert not list(console.home.parent.rglob("逃逸.xlsx"))


def test_a_windows_full_path_keeps_only_the_file_name_inside_the_inbox(console, session):
    """Old browsers send "C:\\…\\name"; the multipart parser keeps only the name."""
    status, _, text = post(console, session, f"/c/{quoted(KEY)}/inbox",
                           files=[("files", "C:\\Windows\\盘符.xlsx", b"not a workbook")],
                           extra={"Accept": "application/json"})
    assert status == 200, text
    wait_job(console, session, text)
    found = list(console.home.parent.rglob("盘符.xlsx"))
    assert len(found) == 1 and (console.home / KEY / "inbox") in found[0].parents


def test_upload_names_are_made_safe_and_chinese_is_kept(console, session):
    status, _, text = post(console, session, f"/c/{quoted(KEY)}/inbox",
                           files=[("files", "收件/渭水县:自评表?.xlsx", b"not a workbook")],
                           extra={"Accept": "application/json"})
    assert status == 200, text
    wait_job(console, session, text)
    saved = [p for p in inbox_files(console) if p.name == "渭水县_自评表_.xlsx"]
    assert len(saved) == 1 and saved[0].parent.name == "收件"


@pytest.mark.parametrize("path", ["/files/..%2Fcampaign.yaml", "/files/%2e%2e/%2e%2e/etc/passwd",
                                  "/files/generate/..%2F..%2F..%2Fetc%2Fpasswd",
                                  "/files/%2Fetc%2Fpasswd", "/files/campaign.yaml",
                                  "/files/ledger.sqlite"])
def test_path_traversal_in_a_url_is_refused(console, session, path):
    status, _, text = request(console, "GET", f"/c/{quoted(KEY)}{path}",
                              headers={"Cookie": session[0]})
    assert status in (400, 404) and ("W005" in text or "W006" in text)
    assert "root:" not in text and "sheet_password" not in text


def test_a_symbolic_link_out_of_the_campaign_is_refused(console, session, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("机密", encoding="utf-8")
    (console.home / KEY / "report").mkdir(exist_ok=True)
    link = console.home / KEY / "report" / "链接.txt"
    os.symlink(secret, link)
    status, _, text = request(console, "GET", f"/c/{quoted(KEY)}/files/report/{quoted('链接.txt')}",
                              headers={"Cookie": session[0]})
    assert status == 400 and "W005" in text and "机密" not in text


def test_an_oversized_upload_is_refused_with_a_message(console, session):
    before = inbox_files(console)
    big = b"x" * (2 * 1024 * 1024 + 1)
    status, _, text = post(console, session, f"/c/{quoted(KEY)}/inbox", files=[("files", "大.zip", big)])
    assert status == 413 and "W003" in text and "超过一次上传的上限 2.0 MB" in text
    one = b"x" * (1024 * 1024 + 10)
    status, _, text = post(console, session, f"/c/{quoted(KEY)}/inbox",
                           files=[("files", "小.xlsx", b"x"), ("files", "证明材料.pdf", one)])
    assert status == 413 and "W004" in text and "证明材料.pdf" in text
    assert inbox_files(console) == before
