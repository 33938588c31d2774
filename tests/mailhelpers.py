"""Real mail servers on 127.0.0.1 for the contacts/mail/fetch tests, and a small campaign.

SMTP: aiosmtpd's Controller with a handler that keeps every envelope (and can answer 451 a given
number of times first). IMAP: Dovecot started as `dovecot -F -c <config>` in a temporary folder
with a passwd-file user; skipped when Dovecot is not installed, unless XW_REQUIRE_LIBREOFFICE=1
(CI), where it must be there (.ci/run installs it).
"""
from __future__ import annotations

import contextlib
import csv
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

UNITS = [("411502", "浉河区", "县区", "shihe@county.example.cn"),
         ("411503", "平桥区", "县区", "pingqiao@county.example.cn"),
         ("411521", "罗山县", "县区", "")]
OFFICE = "xyszscqbh@163.com"
SMTP_USER, SMTP_PASSWORD = "office@example.cn", "授权码-s3cret"
IMAP_USER, IMAP_PASSWORD = "office@example.cn", "imap-s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- a campaign with three units and generated files -----------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return make_campaign(tmp_path_factory.mktemp("campaign"))


@pytest.fixture
def camp(generated, tmp_path):
    dst = tmp_path / "考核"
    shutil.copytree(generated, dst)
    return dst


# Fixtures above are imported by test_mail.py and test_fetch.py (one generated campaign per module,
# a fresh copy per test).


def make_campaign(root: Path) -> Path:
    from xlsx_workflow.campaign import init_campaign
    from xlsx_workflow.generate import generate_campaign
    units = root / "units.csv"
    root.mkdir(parents=True, exist_ok=True)
    with units.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([("代码", "名称", "类型", "邮箱"), *UNITS])
    camp = root / "campaign"
    init_campaign(camp, "ip-protection-2021", units, "2099-05-27")
    result = generate_campaign(camp, jobs=1)
    assert not result.errors
    return camp


def fill_contact_form(src: Path, dst: Path, people: list[tuple]) -> Path:
    """A unit's contact form with `people` rows (单位, 姓名, 职务/职级, 电话, 手机, 传真, 邮箱)
    typed in, as the unit would (openpyxl writes past the sheet protection)."""
    import openpyxl
    book = openpyxl.load_workbook(src)
    sheet = book["联系人"]
    assert [c.value for c in sheet[4]][:7] == ["单位", "姓名", "职务/职级", "电话", "手机", "传真", "邮箱"]
    for r, person in enumerate(people, start=5):
        for col, value in enumerate(person, start=1):
            sheet.cell(r, col, value)
    dst.parent.mkdir(parents=True, exist_ok=True)
    book.save(dst)
    return dst


# --- SMTP ------------------------------------------------------------------------------------

class SmtpSink:
    """Keeps (mail_from, rcpt_tos, raw bytes) of every message accepted; answers 451 to the
    first `fail_first` DATA commands and 550 to recipients listed in `refuse`."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.fail_first = 0
        self.refuse: set[str] = set()
        self.data_commands = 0
        self.logins: list[tuple[str, str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if self.data_commands <= self.fail_first:
            return "451 4.3.0 Temporary failure, try again later"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult
        user = auth_data.login.decode("utf-8")
        password = auth_data.password.decode("utf-8")
        self.logins.append((user, password))
        return AuthResult(success=(user, password) == (SMTP_USER, SMTP_PASSWORD), handled=False)


def start_smtp(sink: SmtpSink, **tls):
    """An aiosmtpd server on 127.0.0.1 with AUTH; `tls`: ssl_context= (implicit TLS) or
    tls_context= with require_starttls=True."""
    from aiosmtpd.controller import Controller
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, authenticator=sink.authenticate,
                            auth_require_tls="tls_context" in tls, **tls)
    controller.start()
    return controller, port


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (openssl CLI) and its key."""
    if not shutil.which("openssl"):
        if os.environ.get("XW_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail("XW_REQUIRE_LIBREOFFICE=1 (CI) but openssl is not installed")
        pytest.skip("openssl is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


# --- IMAP (Dovecot) --------------------------------------------------------------------------

_CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
mail_location = maildir:{dir}/mail/%n
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
"""


def dovecot_or_skip() -> str:
    path = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot")
                                       else None)
    if path:
        return path
    if os.environ.get("XW_REQUIRE_LIBREOFFICE") == "1":
        pytest.fail("XW_REQUIRE_LIBREOFFICE=1 (CI) but Dovecot is not installed "
                    "(apt-get install -y dovecot-imapd)")
    pytest.skip("Dovecot is not installed (apt-get install -y dovecot-imapd)")


class Dovecot:
    """A Dovecot IMAP server on 127.0.0.1 with one user; as root, the mail processes run as
    `nobody` and the login processes as `dovenull` (Dovecot refuses root for both)."""

    def __init__(self, binary: str, tls: tuple | None = None):
        """`tls`: (certificate, key) files — then IMAPS on `imaps_port` and STARTTLS on `port`."""
        self.dir = Path(tempfile.mkdtemp(prefix="xw-dovecot-"))  # not under a 0700 tmp_path
        self.dir.chmod(0o755)
        self.port = free_port()
        self.imaps_port = free_port() if tls else 0
        ssl = f"ssl = yes\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}" if tls else "ssl = no"
        if os.geteuid() == 0:
            mail = pwd.getpwnam("nobody")
            uid, gid, internal, group, login = mail.pw_uid, mail.pw_gid, "dovecot", "dovecot", "dovenull"
        else:
            me = pwd.getpwuid(os.getuid())
            uid, gid = me.pw_uid, me.pw_gid
            internal = login = me.pw_name
            group = _group_name(gid)
        for sub in ("run", "state", "mail", "home"):
            (self.dir / sub).mkdir()
        for sub in ("mail", "home"):
            os.chown(self.dir / sub, uid, gid)
        (self.dir / "passwd").write_text(
            f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}:{uid}:{gid}::{self.dir}/home::\n")
        config = self.dir / "dovecot.conf"
        config.write_text(_CONFIG.format(dir=self.dir, port=self.port, internal=internal,
                                         internal_group=group, login=login, ssl=ssl,
                                         imaps_port=self.imaps_port))
        self.proc = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        for _ in range(200):
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.proc.stdout.read().decode()} "
                                   f"{self.log()}")
            try:
                conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=5)
            except OSError:
                time.sleep(0.1)
                continue
            try:  # dovecot may take the connection before its login works: close it anyway
                conn.login(IMAP_USER, IMAP_PASSWORD)
                conn.logout()
                return
            except (OSError, imaplib.IMAP4.error):
                with contextlib.suppress(OSError):
                    conn.shutdown()
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not come up: {self.log()}")

    def log(self) -> str:
        p = self.dir / "dovecot.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def append(self, raw: bytes, folder: str = "INBOX", arrived=None) -> None:
        """Deliver a message the way a mail client files one: IMAP APPEND (`arrived`: the
        server's receive time, INTERNALDATE; default now)."""
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            conn.login(IMAP_USER, IMAP_PASSWORD)
            if folder != "INBOX":
                conn.create(folder)
            typ, data = conn.append(folder, None, arrived, raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _group_name(gid: int) -> str:
    import grp
    return grp.getgrgid(gid).gr_name
