"""The report stage: ranking workbook, Word/Markdown report and per-unit 反馈单 from a scored campaign."""
