"""The real console for the console tests: `xlsx-workflow serve` started as a subprocess on a
free 127.0.0.1 port, its start link read from its output; Debian's chromium driven by
Playwright (its pip wheel brings the driver; no browser is downloaded); a made-up office's
unit list; returns filled with the library's simulate helpers."""
from __future__ import annotations

import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import uuid
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import openpyxl

CHROMIUM = os.environ.get("XW_CHROMIUM", "/usr/bin/chromium")  # Debian's chromium
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = os.environ.get("XW_CONSOLE_SHOTS")   # a folder: save a screenshot of every page there

# 秦川市: an office that is not in any built-in rubric, with its own counties.
UNITS = [("619001", "渭水县", "县区", "weishui@qinchuan.example.cn"),
         ("619002", "秦岭区", "县区", "qinling@qinchuan.example.cn"),
         ("619003", "终南县", "县区", "zhongnan@qinchuan.example.cn"),
         ("619004", "灞河新区", "县区", "")]
OFFICE = {"name": "秦川市知识产权联席会议办公室", "people": "秦明", "phone": "029-8765432",
          "email": "zscq@qinchuan.example.cn", "address": "秦川市长安路1号"}


def init_qinchuan(root: Path, rubric: str, units: Path, deadline: str):
    """`init` for 秦川市 with its own unit list, then its office written in (none of 信阳's
    carries over to another city's units: C026), as the console's 新建 form does."""
    from xlsx_workflow.campaign import init_campaign, load_campaign
    from xlsx_workflow.console.campaigns import set_office
    init_campaign(root, rubric, units, deadline)
    set_office(root, OFFICE, None)
    return load_campaign(root)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Console:
    proc: subprocess.Popen
    base: str
    token: str

    @property
    def start_url(self) -> str:
        return f"{self.base}/?token={self.token}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_console(home: Path, *options: str) -> Console:
    """`xlsx-workflow serve HOME --port N --no-browser [options]`, once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "xlsx_workflow", "serve", str(home), "--port",
                             str(port), "--no-browser", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8")
    token = ""
    for line in proc.stdout:
        m = re.search(r"\?token=(\S+)", line)
        if m:
            token = m.group(1)
            break
    assert token, proc.stderr.read()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/static/console.css", timeout=2).close()
            return Console(proc, base, token)
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise AssertionError("the console did not answer")


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def shot(page, name: str) -> None:
    """Screenshots (the window and the whole page), when XW_CONSOLE_SHOTS names a folder (for looking at pages)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))
        page.screenshot(path=str(Path(SHOTS) / f"{name}-整页.png"), full_page=True)


def unit_list(path: Path, rows=UNITS) -> Path:
    """The office's own unit list as an .xlsx, with a title-less header row."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["代码", "名称", "类型", "邮箱"])
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def filled_return(camp_dir: Path, blank: Path, dest: Path, seed: str, **changes) -> Path:
    """The generated 自评表 `blank` filled as a county would (simulate helpers), then the
    填报值 of the fields in `changes` ({"1_2": "3次"} → field 1.2) set as typed."""
    from xlsx_workflow.campaign import load_campaign
    from xlsx_workflow.simulate_fill import AVERAGE, header, make_fill, write_workbook
    camp = load_campaign(camp_dir)
    code = blank.name.split("-", 1)[0]
    unit = next(u for u in camp.units if u.code == code)
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_workbook(blank, dest, make_fill(camp.rubric, unit, AVERAGE, random.Random(seed), ""))
    if changes:
        wb = openpyxl.load_workbook(dest)
        ws = wb["自评表"]
        top, cols = header(ws, ("编号", "填报值", "材料编号"))
        wanted = {k.replace("_", "."): v for k, v in changes.items()}
        for r in range(top + 1, ws.max_row + 1):
            fid = str(ws.cell(r, cols["编号"]).value or "")
            if fid in wanted:
                ws.cell(r, cols["填报值"]).value = wanted[fid]
        wb.save(dest)
    return dest


# --- raw HTTP against the console (security tests and form posts) ---------------------------

def request(console, method: str, path: str, body: bytes = b"", headers=None):
    """(status, headers, text) of one raw request (paths sent exactly as given)."""
    conn = http.client.HTTPConnection(console.base.split("//")[1], timeout=30)
    conn.request(method, path, body=body or None, headers=headers or {})
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace")
    conn.close()
    return resp.status, dict(resp.getheaders()), text


def open_session(console):
    """The cookie header and CSRF token a browser gets after opening the start link."""
    status, headers, _ = request(console, "GET", f"/?token={console.token}")
    assert status == 303
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    jar = cookie.split(";", 1)[0]
    _, _, page = request(console, "GET", "/", headers={"Cookie": jar})
    csrf = re.search(r'name="csrf" content="([0-9a-f]+)"', page).group(1)
    return jar, csrf


def multipart(fields, files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for name, value in (fields.items() if isinstance(fields, dict) else fields):
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()
    for name, filename, data in files:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        out += data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(console, session, path, fields=None, files=(), csrf=True, extra=None):
    jar, token = session
    body, ctype = multipart({**({"csrf": token} if csrf is True else
                                {"csrf": csrf} if csrf else {}), **(fields or {})}, list(files))
    headers = {"Cookie": jar, "Content-Type": ctype, "Content-Length": str(len(body)),
               "Origin": console.base, **(extra or {})}
    return request(console, "POST", path, body, headers)


def wait_job(console, session, answer: str) -> dict:
    """Poll the import started by an upload until it is finished (one job at a time)."""
    job = json.loads(answer)["job"]
    for _ in range(300):
        _, _, doc = request(console, "GET", f"/jobs/{job}", headers={"Cookie": session[0]})
        if json.loads(doc)["state"] != "running":
            return json.loads(doc)
        time.sleep(0.1)
    raise AssertionError("the import did not finish")
