"""Shared fixtures. LibreOffice tests skip when soffice is missing, unless
XW_REQUIRE_LIBREOFFICE=1 (as in CI), where a missing soffice is a failure."""
import os

import pytest

from xlsx_workflow.office import soffice_path


def _soffice_or_skip() -> str:
    path = soffice_path()
    if path:
        return path
    if os.environ.get("XW_REQUIRE_LIBREOFFICE") == "1":
        pytest.fail("XW_REQUIRE_LIBREOFFICE=1 but LibreOffice (soffice) is not installed")
    pytest.skip("LibreOffice (soffice) is not installed")


def pytest_runtest_setup(item):
    """The `libreoffice` marker alone applies the skip/require rule."""
    if item.get_closest_marker("libreoffice"):
        _soffice_or_skip()


@pytest.fixture(scope="session")
def soffice() -> str:
    """Path of the soffice command (skips or fails per the rule above)."""
    return _soffice_or_skip()
