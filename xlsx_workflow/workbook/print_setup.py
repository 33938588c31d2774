"""Page set-up shared by every visible sheet: A4, one page wide, header and page numbers."""
from __future__ import annotations

from .checked import Sheet

A4 = 9


def print_setup(sheet: Sheet, landscape: bool, header_row: int | None, header_text: str) -> None:
    """A4, fit to one page wide, `header_text` in the page header, 第 n 页 共 m 页 in the footer;
    the header row repeats on every page and the panes freeze below it."""
    sheet.call("set_paper", A4)
    if landscape:
        sheet.call("set_landscape")
    else:
        sheet.call("set_portrait")
    sheet.call("fit_to_pages", 1, 0)
    if header_row is not None:
        sheet.call("repeat_rows", header_row)
        sheet.call("freeze_panes", header_row + 1, 0)
    sheet.call("set_margins", left=0.4, right=0.4, top=0.75, bottom=0.6)
    sheet.call("center_horizontally")
    # '&' starts a code in Excel's header language; a unit name containing it must be escaped.
    sheet.call("set_header", "&C" + header_text.replace("&", "&&")[:200], {"margin": 0.3})
    sheet.call("set_footer", "&C第 &P 页 共 &N 页", {"margin": 0.3})
