"""The other visible sheets: 填报说明, 材料清单, 扣分事项 and 联系人 (also the contact form)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..rubric.export import lines_needed
from .checked import Sheet
from .print_setup import print_setup
from .validation import DEDUCTIONS_NAME, INDICATORS_NAME, prompt

EVIDENCE_SHEET, DEDUCTION_SHEET, CONTACT_SHEET, GUIDE_SHEET = "材料清单", "扣分事项", "联系人", "填报说明"
EVIDENCE_ROWS, DEDUCTION_ROWS, CONTACT_ROWS = 200, 30, 8
LINE_PT, PAD_PT = 13.5, 5.0

EVIDENCE_COLUMNS = [("序号", 6), ("材料名称", 34), ("对应指标", 30), ("文件名", 26), ("成文日期", 12),
                    ("页数", 7), ("备注", 22)]
DEDUCTION_COLUMNS = [("序号", 6), ("时间", 12), ("相关主体", 20), ("事由", 34), ("处理情况", 28),
                     ("影响", 20), ("对应扣分项", 28)]
CONTACT_COLUMNS = [("单位", 22), ("姓名", 10), ("职务/职级", 14), ("电话", 14), ("手机", 14),
                   ("传真", 14), ("邮箱", 22)]


@dataclass
class Page:
    """What every sheet says about the campaign and the unit (all text, already in Chinese)."""
    title: str
    unit_name: str
    unit_code: str
    contact_deadline: str
    materials_deadline: str
    office_lines: list  # (label, text)
    campaign_id: str
    has_deductions: bool
    has_not_applicable: bool


def unit_text(name: str, code: str) -> str:
    """「浉河区（代码 411502）」; the name alone for a template's placeholder unit (no code)."""
    return f"{name}（代码 {code}）" if code else name


def cn_date(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def _height(text: str, width: float, minimum: float = 20.0) -> float:
    return max(lines_needed(text, width) * LINE_PT + PAD_PT, minimum)


def _table(sheet: Sheet, page: Page, caption: str, hint: str, columns: list, rows: int,
           landscape: bool) -> int:
    """Title, hint, header and `rows` empty numbered input rows; returns the first data row."""
    last = len(columns) - 1
    width = sum(w for _, w in columns)
    for col, (_, w) in enumerate(columns):
        sheet.call("set_column", col, col, w)
    sheet.merged_text(0, 0, 0, last, f"{page.title}{caption}", "title")
    sheet.call("set_row", 0, 30)
    sheet.merged_text(1, 0, 1, last, f"填报单位：{unit_text(page.unit_name, page.unit_code)}", "subtitle")
    sheet.merged_text(2, 0, 2, last, hint, "hint")
    sheet.call("set_row", 2, _height(hint, width))
    for col, (name, _) in enumerate(columns):
        sheet.text(3, col, name, "header")
    sheet.call("set_row", 3, 22)
    print_setup(sheet, landscape, 3, f"{page.unit_name}　{caption}")
    return 4


def write_evidence(sheet: Sheet, page: Page) -> None:
    hint = ("全部支撑材料按顺序编号（序号已编好），一份材料一行；在自评表“材料编号”列填写这里的序号。"
            "一份材料对应多个指标时，“对应指标”选主要的一个，其余写在备注中。")
    top = _table(sheet, page, EVIDENCE_SHEET, hint, EVIDENCE_COLUMNS, EVIDENCE_ROWS, True)
    # Input rows keep the default height: Excel, WPS and LibreOffice then grow a row to fit
    # the wrapped text a county types (a set height would stay fixed and hide it).
    blanks = [(col, "input_date" if col == 4 else "input" if col in (2, 5) else "input_text")
              for col in range(1, len(EVIDENCE_COLUMNS))]
    for k in range(EVIDENCE_ROWS):
        r = top + k
        sheet.number(r, 0, k + 1, "center")
        sheet.blanks(r, blanks)
    end = top + EVIDENCE_ROWS - 1
    sheet.validate(top, 1, end, 1, prompt("材料名称", "填写材料的标题，如“关于加强知识产权保护工作的通知”。",
                                          "材料名称不超过200字。", validate="length", criteria="<=",
                                          value=200))
    sheet.validate(top, 2, end, 2, prompt("对应指标", "从下拉框选择这份材料支撑的指标。",
                                          "只能从下拉框选择指标。", validate="list",
                                          source=f"={INDICATORS_NAME}"))
    sheet.validate(top, 3, end, 3, prompt("文件名", "填写随表报送的电子文件名，如“1-会议纪要.pdf”。",
                                          "文件名不超过200字。", validate="length", criteria="<=",
                                          value=200))
    sheet.validate(top, 4, end, 4, _date_prompt("成文日期"))
    sheet.validate(top, 5, end, 5, prompt("页数", "填写页数（整数）。", "页数须为不小于0的整数。",
                                          validate="integer", criteria=">=", value=0))


def _date_prompt(title: str) -> dict:
    return prompt(title, "填写日期，格式如 2021-06-30。", "请填写日期，格式如 2021-06-30。",
                  validate="date", criteria="between", minimum=date(2000, 1, 1),
                  maximum=date(2099, 12, 31))


def write_deductions(sheet: Sheet, page: Page) -> None:
    hint = "发生扣分情形的，每件事一行，写明时间、相关主体、事由、处理情况和影响，并选择对应的扣分项。没有的不填。"
    top = _table(sheet, page, DEDUCTION_SHEET, hint, DEDUCTION_COLUMNS, DEDUCTION_ROWS, True)
    blanks = [(col, "input_date" if col == 1 else "input_text")
              for col in range(1, len(DEDUCTION_COLUMNS))]
    for k in range(DEDUCTION_ROWS):
        r = top + k
        sheet.number(r, 0, k + 1, "center")
        sheet.blanks(r, blanks)
    end = top + DEDUCTION_ROWS - 1
    sheet.validate(top, 1, end, 1, _date_prompt("时间"))
    sheet.validate(top, 6, end, 6, prompt("对应扣分项", "从下拉框选择对应的扣分项。",
                                          "只能从下拉框选择扣分项。", validate="list",
                                          source=f"={DEDUCTIONS_NAME}"))


def write_contacts(sheet: Sheet, page: Page) -> None:
    due = f"请于{page.contact_deadline}前报送。" if page.contact_deadline else ""
    hint = f"填写本单位负责考核工作的联系人，可填多人。{due}"
    top = _table(sheet, page, "联系人信息表", hint, CONTACT_COLUMNS, CONTACT_ROWS, False)
    for k in range(CONTACT_ROWS):
        for col in range(len(CONTACT_COLUMNS)):
            sheet.text(top + k, col, "", "input_text" if col in (0, 2, 6) else "input")
        sheet.call("set_row", top + k, 24)
    end = top + CONTACT_ROWS - 1
    for col, title, what in ((3, "电话", "办公电话，如 0376-6312865"), (4, "手机", "11位手机号"),
                             (5, "传真", "传真号码")):
        sheet.validate(top, col, end, col, prompt(title, f"填写{what}。", f"{title}不超过30个字符。",
                                                  validate="length", criteria="<=", value=30))
    sheet.validate(top, 6, end, 6, prompt("邮箱", "填写电子邮箱，如 name@163.com。",
                                          "邮箱不超过60个字符。", validate="length", criteria="<=",
                                          value=60))
