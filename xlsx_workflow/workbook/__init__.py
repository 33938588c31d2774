"""Per-unit workbooks (xlsxwriter): the 自评表 workbook and the contact form.

`book_context(campaign)` compiles what all units share once; `write_self_assessment` and
`write_contact_form` write one unit's files.
"""
from .book import BookContext, book_context, write_contact_form, write_self_assessment
from .checked import WriteError

__all__ = ["BookContext", "book_context", "write_contact_form", "write_self_assessment",
           "WriteError"]
