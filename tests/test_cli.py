"""The command line: contracts other tools rely on, and the README kept honest."""
import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from xlsx_workflow.cli import main

ROOT = Path(__file__).parent.parent
MINI = str(Path(__file__).parent / "data" / "mini.yaml")


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_show_json_contract():
    doc = json.loads(run("rubric", "show", MINI, "--json").output)
    assert {"id", "title", "fields"} <= doc.keys()
    f = {x["id"]: x for x in doc["fields"]}
    assert f["1.3"]["options"] == ["甲", "乙", "无"]
    assert f["3.1"]["type"] == "judged" and f["3.1"]["max"] == 40


def test_check_exit_codes(tmp_path):
    assert run("rubric", "check", MINI).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["rubric", "check", str(bad)])
    assert res.exit_code == 1
    assert "R003" in res.output


def test_unknown_rubric_is_a_clear_error():
    res = CliRunner().invoke(main, ["rubric", "show", "nope"])
    assert res.exit_code != 0 and "R001" in res.output


def _commands(group, prefix=""):
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, full + " ")
        else:
            yield full, cmd


@pytest.mark.parametrize("name,cmd", list(_commands(main)))
def test_every_command_has_help_and_is_in_the_readme(name, cmd):
    assert cmd.help, f"{name} has no help"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"xlsx-workflow {re.escape(name)}\b", readme), f"README lacks `{name}`"


def test_readme_quick_start_is_make_demo_and_make_test():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
