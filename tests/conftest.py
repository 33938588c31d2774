"""Shared fixtures. LibreOffice tests skip when soffice is missing, unless
XW_REQUIRE_LIBREOFFICE=1 (as in CI), where a missing soffice is a failure; browser tests
(the console) likewise with Debian's chromium and XW_REQUIRE_BROWSER=1."""
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
    if item.get_closest_marker("browser") and not os.path.exists(CHROMIUM):
        pytest.fail(f"XW_REQUIRE_BROWSER=1 but {CHROMIUM} (Debian chromium) is not installed")


@pytest.fixture(scope="session")
def soffice() -> str:
    """Path of the soffice command (skips or fails per the rule above)."""
    return _soffice_or_skip()


CHROMIUM = os.environ.get("XW_CHROMIUM", "/usr/bin/chromium")  # Debian's chromium


def pytest_collection_modifyitems(config, items):
    """The `browser` marker: tests need Debian's chromium; they are skipped when it is missing,
    unless XW_REQUIRE_BROWSER=1 (as in CI), where they fail at once."""
    if os.path.exists(CHROMIUM) or os.environ.get("XW_REQUIRE_BROWSER") == "1":
        return  # present, or required: pytest_runtest_setup fails the test when it is missing
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} (Debian chromium) is not installed"))
