"""The untrusted-file front door of `import`: collect what was handed in, sniff each file.

Call `assert_safe_xml()` once at the start of an import, before any workbook is opened.
"""
from .collect import ARCHIVE, EVIDENCE, SKIPPED, WORKBOOK, Received, collect
from .sniff import assert_safe_xml, sniff

__all__ = ["ARCHIVE", "EVIDENCE", "SKIPPED", "WORKBOOK", "Received", "assert_safe_xml",
           "collect", "sniff"]
