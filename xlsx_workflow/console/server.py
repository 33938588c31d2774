"""`xlsx-workflow serve`: start the console on 127.0.0.1 and open the browser at its link.

Plain uvicorn in this process (no reloader, no worker processes, no POSIX-only calls), so the
same command works on Windows, 统信 UOS and 麒麟; Ctrl+C stops it."""
from __future__ import annotations

import socket
import sys
import threading
import webbrowser
from pathlib import Path

import uvicorn

from .app import create_app
from .campaigns import home_of
from .security import MB, Secrets

HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def pick_port(wanted: int | None) -> int:
    """`wanted` if given; else 8765, or any free port when that one is taken."""
    if wanted:
        return wanted
    if port_free(DEFAULT_PORT):
        return DEFAULT_PORT
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def serve(dirs: list[Path], port: int | None = None, open_browser: bool = True,
          max_upload_mb: int = 200, max_file_mb: int = 100) -> None:
    """Serve the campaigns in `dirs` until Ctrl+C."""
    dirs = [Path(d) for d in dirs] or [Path.cwd()]
    home = home_of(dirs)
    home.mkdir(parents=True, exist_ok=True)
    port = pick_port(port)
    keys = Secrets(max_upload=max_upload_mb * MB, max_file=max_file_mb * MB,
                   hosts=(f"{HOST}:{port}", f"localhost:{port}"))
    app = create_app(dirs, home, keys)
    url = f"http://{HOST}:{port}/?token={keys.token}"
    print(f"考核办公室网页控制台已启动。请用浏览器打开（本链接只在本次运行有效，勿转发）：\n{url}",
          flush=True)
    print(f"新建的考核活动保存在：{home}\n关闭控制台：在本窗口按 Ctrl+C。", file=sys.stderr, flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, [url]).start()
    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False)
