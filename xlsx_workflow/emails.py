"""The one rule for an e-mail address, shared by the unit list (init), the workbook's contact
checks and mail: what init accepts, mail can send to, and checks do not flag."""
from __future__ import annotations

import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def valid_email(text) -> bool:
    """True for an address like name@example.cn (surrounding spaces ignored)."""
    return bool(text) and bool(_EMAIL.fullmatch(str(text).strip()))
