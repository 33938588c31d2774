"""The message catalogue: every code is exercised by some test, every text is Chinese."""
import re
from pathlib import Path

import pytest

from xlsx_workflow.messages import CATALOGUE, issue

TESTS = Path(__file__).parent


def _test_sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in TESTS.glob("test_*.py")
                     if p.name != "test_messages.py")


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_code_is_exercised_by_a_test(code):
    assert re.search(rf"\b{code}\b", _test_sources()), f"no test asserts on {code}"


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_message_is_chinese_and_formats(code):
    severity, template = CATALOGUE[code]
    assert severity in ("错误", "警告", "提示")
    assert re.search(r"[\u4e00-\u9fff]", template)
    names = re.findall(r"{(\w+)}", template)
    assert str(issue(code, "某处", **{n: "x" for n in names}))
