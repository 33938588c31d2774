"""The 填报说明 sheet: campaign, unit, deadlines, how to fill, colour legend, office contact."""
from __future__ import annotations

from .checked import Sheet
from .print_setup import print_setup
from .sheets import Page, _height, unit_text

WIDTHS = [5, 18, 70]


def steps(page: Page) -> list[str]:
    """How to fill, in the order a county works through the workbook."""
    sheets = "“自评表”“材料清单”" + ("“扣分事项”" if page.has_deductions else "") + "“联系人”"
    out = [
        f"本工作簿包括{sheets}几张表。只能在浅黄色单元格中填写，其他单元格已锁定；"
        "请勿改动表名，不要插入、删除或移动行列，不要整行复制粘贴。",
        "自评表：逐行在“填报值”列填写。“是/否”和选项从下拉框选择；次数、件数填整数；金额填数字，"
        "不带单位；自评分按细则以0.5分为单位。鼠标停在单元格上会显示填写要求。",
        "“自评得分”、各指标和各维度得分、总分和等次随填报自动计算，仅供参考，最终得分以市级核定为准。"
        "标为“待市级核定”的细则需要省、市掌握的数据，在自评表中暂按0分计。"
        + ("标为“不适用”的指标不适用于本单位，无需填报。" if page.has_not_applicable else ""),
        "材料编号：全部支撑材料按顺序编号，列入“材料清单”（序号已编好）；在自评表对应行的“材料编号”列"
        "填写序号，多份用顿号分隔，如 1、3、5。",
    ]
    if page.has_deductions:
        out.append("扣分事项：发生扣分情形的，在“扣分事项”表逐件填写时间、相关主体、事由、处理情况和影响，"
                   "并选择对应的扣分项；在自评表扣分项中如实填报。")
    due = f"，请于{page.contact_deadline}前先行报送" if page.contact_deadline else ""
    out.append(f"联系人：填写本单位负责考核工作的联系人。联系人信息表另有单独文件{due}。")
    when = f"于{page.materials_deadline}前" if page.materials_deadline else "按通知要求"
    out.append(f"填好后按 Excel 工作簿（.xlsx）格式保存，连同支撑材料{when}报送。"
               "不要另存为 .xls、.et 或 .csv 格式；用 WPS 或 LibreOffice 填写同样可以。")
    return out


def write_guide(sheet: Sheet, page: Page) -> None:
    for col, w in enumerate(WIDTHS):
        sheet.call("set_column", col, col, w)
    full = sum(WIDTHS[1:])
    sheet.merged_text(0, 0, 0, 2, page.title, "title")
    sheet.call("set_row", 0, _height(page.title, sum(WIDTHS) * 0.6, 30))
    sheet.merged_text(1, 0, 1, 2, "自评表填报说明", "subtitle")
    sheet.call("set_row", 1, 24)
    facts = [("填报单位", unit_text(page.unit_name, page.unit_code))]
    if page.contact_deadline:
        facts.append(("联系人信息表", f"{page.contact_deadline}前报送"))
    facts.append(("自评表及材料", f"{page.materials_deadline}前报送" if page.materials_deadline
                  else "按通知要求报送"))
    row = 3
    for name, text in facts:
        row = _pair(sheet, row, name, text)
    row = _section(sheet, row + 1, "填报方法")
    for k, text in enumerate(steps(page), 1):
        sheet.text(row, 0, str(k), "center")
        sheet.merged_text(row, 1, row, 2, text, "cell")
        sheet.call("set_row", row, _height(text, full))
        row += 1
    row = _section(sheet, row + 1, "颜色说明")
    for style, name, text in (("legend_input", "填报", "浅黄色：需要填写的单元格"),
                              ("legend_locked", "不适用", "灰色：不适用或无需填报，已锁定"),
                              ("cell", "说明", "白色：细则原文和自动计算的得分，已锁定")):
        sheet.text(row, 1, name, style)
        sheet.text(row, 2, text, "cell")
        sheet.call("set_row", row, 20)
        row += 1
    row = _section(sheet, row + 1, "联系方式")
    for name, text in page.office_lines:
        row = _pair(sheet, row, name, text)
    sheet.merged_text(row + 1, 0, row + 1, 2, f"考核编号：{page.campaign_id}", "hint")
    print_setup(sheet, False, None, f"{page.unit_name}　{page.title}")


def _pair(sheet: Sheet, row: int, name: str, text: str) -> int:
    sheet.merged_text(row, 0, row, 1, name, "header")
    sheet.text(row, 2, text, "cell")
    sheet.call("set_row", row, _height(text, WIDTHS[2]))
    return row + 1


def _section(sheet: Sheet, row: int, name: str) -> int:
    sheet.merged_text(row, 0, row, 2, name, "section")
    sheet.call("set_row", row, 24)
    return row + 1
