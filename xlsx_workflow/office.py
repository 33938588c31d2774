"""LibreOffice at the edge: headless conversion (xlsx → pdf, xlsx → recalculated xlsx).

Every run gets its own user profile (`-env:UserInstallation`), so parallel runs never share
LibreOffice's lock and settings; without one a fresh temporary profile is made and removed.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .messages import WorkflowError, issue

# Calc's "recalculation on file load": 0 = always, 1 = never, 2 = ask (treated as never headless).
# Set both so cached values in xlsx (OOXML) and ods (ODF) files are never trusted.
_RECALC_ITEMS = """\
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
"""
_XCU_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
             '<oor:items xmlns:oor="http://openoffice.org/2001/registry"'
             ' xmlns:xs="http://www.w3.org/2001/XMLSchema"'
             ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n')
_XLSX_FILTER = "xlsx:Calc MS Excel 2007 XML"


def soffice_path() -> str | None:
    """The LibreOffice command, or None when it is not installed."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def convert(src: Path, fmt: str, out_dir: Path, profile: Path | None = None,
            timeout: float = 180) -> Path:
    """Convert `src` with `soffice --convert-to fmt` into `out_dir`; returns the new file.

    `fmt` is an extension, optionally with a filter (`"xlsx:Calc MS Excel 2007 XML"`). Raises
    WorkflowError (O001 no LibreOffice, O002 failed or no output, O003 timed out).
    """
    src, out_dir = Path(src).resolve(), Path(out_dir).resolve()
    exe = soffice_path()
    if exe is None:
        raise WorkflowError([issue("O001")])
    target = out_dir / f"{src.stem}.{fmt.split(':')[0]}"
    if target == src:
        raise WorkflowError([issue("O002", str(src), src=src.name, fmt=fmt, rc="-",
                                   stderr="输出会覆盖源文件，请换一个输出目录")])
    out_dir.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)  # a stale file must not pass for this run's output
    with _profile(profile) as prof:
        args = [exe, "--headless", "--norestore", "--nolockcheck",
                f"-env:UserInstallation={prof.as_uri()}",
                "--convert-to", fmt, "--outdir", str(out_dir), str(src)]
        rc, out, err = _run(args, timeout, src)
    if rc != 0 or not target.is_file() or target.stat().st_size == 0:
        detail = (err or out).strip()[-800:] or "未生成输出文件"
        raise WorkflowError([issue("O002", str(src), src=src.name, fmt=fmt, rc=rc, stderr=detail)])
    return target


def recalculate(src: Path, out_dir: Path, profile: Path | None = None,
                timeout: float = 180) -> Path:
    """Open `src` in LibreOffice with every formula recalculated on load; save it as xlsx.

    The result's cached values are LibreOffice's own, never the ones stored in `src`.
    """
    with _profile(profile) as prof:
        force_recalc_on_load(prof)
        return convert(src, _XLSX_FILTER, out_dir, prof, timeout)


def force_recalc_on_load(profile: Path) -> Path:
    """Write (or complete) the profile's registrymodifications.xcu so Calc always recalculates."""
    xcu = Path(profile) / "user" / "registrymodifications.xcu"
    xcu.parent.mkdir(parents=True, exist_ok=True)
    text = xcu.read_text(encoding="utf-8") if xcu.is_file() else _XCU_HEAD + "</oor:items>\n"
    if not all(line in text for line in _RECALC_ITEMS.splitlines()):
        # Drop any earlier values of these two settings, then add ours before the end tag.
        lines = [ln for ln in text.splitlines(keepends=True)
                 if "OOXMLRecalcMode" not in ln and "ODFRecalcMode" not in ln]
        text = "".join(lines).replace("</oor:items>", _RECALC_ITEMS + "</oor:items>")
        xcu.write_text(text, encoding="utf-8")
    return xcu


@contextmanager
def _profile(profile: Path | None):
    if profile is not None:
        Path(profile).mkdir(parents=True, exist_ok=True)
        yield Path(profile).resolve()
        return
    tmp = Path(tempfile.mkdtemp(prefix="xw-lo-profile-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(args: list[str], timeout: float, src: Path) -> tuple[int, str, str]:
    """Run soffice in its own process group, so a timeout ends soffice.bin and not just the wrapper."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise WorkflowError([issue("O003", str(src), src=src.name, timeout=timeout)])
    return proc.returncode, out, err
