"""The one catalogue of user-facing messages.

Every message has a code (tests assert on it), a severity and a Chinese text that says where,
what is wrong and how to fix it. Code elsewhere creates messages only through `issue()`.
"""
from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING, INFO = "错误", "警告", "提示"


@dataclass(frozen=True)
class Issue:
    code: str
    severity: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        loc = f"{self.where}：" if self.where else ""
        return f"[{self.code}] {self.severity}：{loc}{self.message}"

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "where": self.where}


CATALOGUE: dict[str, tuple[str, str]] = {
    # Rubric files (R…)
    "R001": (ERROR, "找不到考核细则「{name}」。请用 `xlsx-workflow rubric list` 查看内置细则，或给出 YAML 文件路径。"),
    "R002": (ERROR, "不是有效的 YAML：{detail}。请检查缩进和冒号。"),
    "R003": (ERROR, "缺少必填项 {key}。请按 docs/rubric-format.md 补上。"),
    "R004": (ERROR, "{key} 的值「{value}」无效：{detail}。"),
    "R005": (ERROR, "编号 {id} 重复（另见 {other}）。每个编号只能用一次。"),
    "R006": (ERROR, "引用了不存在的{what}「{ref}」。请先在 {section} 中定义。"),
    "R007": (ERROR, "评分方式 kind「{kind}」未知。可用：{kinds}。"),
    "R008": (ERROR, "评分参数有误：{detail}。"),
    "R009": (ERROR, "填报项类型 type「{type}」未知。可用：{types}。"),
    "R010": (WARNING, "填报项 {field} 没有被任何评分细则读取，也不是日期或文字项。请确认是否多余。"),
    "R011": (WARNING, "下级满分合计 {children} 分，与声明的满分 {declared} 分不一致。"),
    "R012": (ERROR, "选项「{option}」不在填报项 {field} 的可选项中。"),
    "R013": (WARNING, "评分方式 {kind} 通常读取 {expected} 类型的填报项，而 {field} 是 {type}。"),
    "R014": (ERROR, "细则原文 text 为空。请照抄文件原文；若为重建内容，须在 note 中说明。"),
    # Received files (F…): sniffed before any XML parser runs
    "F001": (ERROR, "文件内容不是电子表格（看起来是{kind}），可能附件发错了或扩展名被改过。请发回填好的 .xlsx 自评表。"),
    "F002": (ERROR, "这是旧版表格格式（{form}），本系统只读 .xlsx。请用 Excel/WPS 打开，“文件 → 另存为”选择“Excel 工作簿 (*.xlsx)”后重新发送。"),
    "F003": (ERROR, "这是 WPS 表格专用格式（.et），本系统只读 .xlsx。请在 WPS 中“文件 → 另存为”选择“Excel 文件 (*.xlsx)”后重新发送。"),
    "F004": (ERROR, "这是 OpenDocument 表格（.ods），本系统只读 .xlsx。请在 LibreOffice/WPS 中“文件 → 另存为”选择“Excel 2007-365 (.xlsx)”后重新发送。"),
    "F005": (ERROR, "这是 CSV 文本文件，没有自评表的结构和标识信息。请在下发的 .xlsx 自评表中填写，保存后重新发送。"),
    "F006": (ERROR, "文件含宏（VBA 代码，{detail}），出于安全考虑不予导入。请在下发的自评表中填写，保存类型选“Excel 工作簿 (*.xlsx)”（不要选“启用宏的工作簿”）后重新发送。"),
    "F007": (ERROR, "文件设置了密码，无法读取。请去掉密码后重新保存再发送：Excel “文件 → 信息 → 保护工作簿 → 用密码进行加密”清空密码；WPS “文件 → 文档加密 → 密码加密”清空密码。"),
    "F008": (ERROR, "文件已损坏或不完整（{detail}），可能是下载或邮件传输中断。请重新发送原文件；仍不行时请用 Excel/WPS 打开后另存一份再发送。"),
    "F009": (ERROR, "文件缺少 Excel 工作簿必需的部件 {part}，不是完整的 .xlsx。请用 Excel/WPS 打开后另存为 .xlsx 再发送。"),
    "F010": (ERROR, "文件大小 {size} 超过上限 {limit}。自评表本身通常不足 1 MB：请删去表内粘贴的图片，把证明材料作为单独附件发送。"),
    "F011": (ERROR, "文件解压后的大小异常（{detail}），疑似“压缩炸弹”，未打开。请用 Excel/WPS 打开自评表另存一份后重新发送。"),
    "F012": (ERROR, "文件的 {part} 部件含 DOCTYPE/实体声明（正常的 Excel/WPS 文件不会有），可能是恶意构造，出于安全考虑不予导入。请在下发的自评表中填写，保存后重新发送。"),
    "F013": (ERROR, "工作簿含外部链接（引用了其他文件：{target}）：引用来的数值无法核实，打开时还会去访问对方电脑上的文件。请在 Excel/WPS 中“数据 → 编辑链接 → 断开链接”，保存后重新发送。"),
    "F014": (ERROR, "文件为空（0 字节），可能是下载或邮件附件出错。请重新发送原文件。"),
    "F020": (INFO, "已跳过：这是隐藏文件、系统生成的文件或 Office 打开文件时留下的临时锁文件（~$ 开头），不是报送材料。"),
    "F021": (ERROR, "压缩包中的「{member}」路径不安全（绝对路径或含 ..），未解出。请把该文件直接作为附件发送。"),
    "F022": (ERROR, "「{member}」是符号链接（快捷方式），未读取。请发送文件本身。"),
    "F023": (ERROR, "压缩包中的「{member}」解压后 {size}，{detail}，未解出。请把该文件直接作为附件发送。"),
    "F024": (ERROR, "压缩包解压后共 {detail}，未解开。请拆成几个压缩包，或直接发送文件。"),
    "F025": (ERROR, "压缩包已损坏（{detail}），{what}无法解出。请重新打包后发送。"),
    "F026": (ERROR, "「{member}」是压缩包里的压缩包里的压缩包，只解开一层嵌套，未解出。请解压后直接发送其中的文件。"),
    "F027": (ERROR, "压缩包中的「{member}」设置了密码，无法解出。请去掉密码重新打包后发送。"),
    "F028": (WARNING, "不支持 {ext} 格式的压缩包，其中的文件未检查。请改用 .zip 打包，或直接发送文件。"),
    "F029": (ERROR, "找不到文件或文件夹 {path}。请检查路径。"),
    "F030": (ERROR, "安全组件不可用：{detail}。为防止恶意构造的 XML 文件，必须用 defusedxml 读取报送文件。请运行 pip install defusedxml，并且不要设置 OPENPYXL_DEFUSEDXML=False。"),
    "F031": (ERROR, "文件中的 {part} 部件不完整（内容被截断或已损坏），可能是保存时中断、传输出错或被其他工具改动过，Excel 打开时也会提示“修复”。请用 Excel/WPS 重新打开原表另存后再报送。"),
    "F032": (ERROR, "文件中的 {part} 部件含有不是 UTF-8 编码的乱码字节（正常的 Excel/WPS 文件不会有），可能被其他工具改动过。请用 Excel/WPS 重新打开原表另存后再报送。"),
    "F033": (ERROR, "文件中的 {part} 部件用了 {encoding} 编码（Excel 工作簿只用 UTF-8 或 UTF-16），可能是恶意构造，出于安全考虑不予导入。请用 Excel/WPS 重新打开原表另存后再报送。"),
    "F034": (ERROR, "文件含 Excel 4.0 宏（{detail}），打开时会自动执行其中的命令，出于安全考虑不予导入。请在下发的自评表中填写，不要插入“MS Excel 4.0 宏表”，保存类型选“Excel 工作簿 (*.xlsx)”后重新发送。"),
    # Ledger (L…): the campaign's import record
    "L001": (ERROR, "台账由更新版本的 xlsx-workflow 建立（台账版本 {found}，本程序只认识到版本 {known}），为免损坏未打开。请升级 xlsx-workflow 后再操作。"),
    "L002": (ERROR, "台账文件无法打开（{detail}），可能已损坏或不是本系统的台账。请不要手工修改该文件；可从备份恢复，或把它移走后重新导入归档中的文件。"),
    "L003": (INFO, "同一文件已于 {at} 导入（第 {batch} 批），本次未作任何改动。"),
    "L004": (WARNING, "逾期报送：{at} 收到，截止日期为 {deadline}（截止日当天收到的不算逾期）。"),
    "L005": (ERROR, "台账正被另一个导入占用，等待超时。请等另一个导入结束后重试。"),
    "L009": (INFO, "截止后更正：{at} 收到，截止日期为 {deadline}。本单位已于 {first} 按时报送，这一份是截止后报送的更正版本，按时报送不受影响，不算逾期。"),
    # Campaign folder (C…)
    "C001": (ERROR, "找不到考核活动：文件夹 {path} 中没有 campaign.yaml。请先运行 xlsx-workflow init {path} --rubric 细则编号。"),
    "C002": (ERROR, "campaign.yaml 无法读取：{detail}。请改正该文件，或重新运行 xlsx-workflow init。"),
    "C003": (ERROR, "日期「{value}」格式不对，应写成 YYYY-MM-DD（如 2022-05-27）。"),
    "C004": (ERROR, "没有单位名单：考核细则 {rubric} 未列出默认单位。请用 --units 指定单位名单文件（.xlsx 或 .csv，列：代码、名称、类型、邮箱）。"),
    "C005": (WARNING, "考核细则文件已改动：内容校验值与 campaign.yaml 记录的不同（第{old}版 → 第{new}版）。已下发的自评表按原细则填写；确需改用新细则时，请重新运行 init 并重新生成、下发。"),
    "C006": (ERROR, "{path} 已存在且不是文件夹。请换一个考核活动文件夹。"),
    "C007": (ERROR, "campaign.yaml 的 extensions（延期）中的单位代码 {unit_code} 不在单位名单 units.csv 中。请改正代码，或删除这一项。"),
    "C008": (ERROR, "campaign.yaml 的 extensions（延期）中 {unit} 的日期「{value}」无效。应写成“单位代码: YYYY-MM-DD”（如 411502: 2022-06-03），或分别写 materials（自评表）和 contact（联系人信息表）的日期。"),
    "C009": (WARNING, "{unit} 的延期截止日期 {day} 不晚于统一截止日期 {deadline}，不起作用（延期不会提前截止日期）。请改为更晚的日期，或删除这一项。"),
    "C020": (ERROR, "campaign.yaml 中 ranking 的值「{value}」无效：应为 rate（按得分率排名和定等次）、points（按总分）或 auto（有单位存在不适用指标时按得分率，否则按总分）。请改正 campaign.yaml。"),
    "C021": (ERROR, "campaign.yaml 的 not_applicable 中列出的单位「{unit}」不在单位名单中。请写单位名单（units.csv）中的单位代码或名称。"),
    "C022": (ERROR, "campaign.yaml 的 not_applicable 中，{unit}的指标「{indicator}」在考核细则中不存在。请写考核细则中的指标编号（如 1.1.7，可用 xlsx-workflow rubric show 查看），编号请加引号。"),
    "C023": (ERROR, "campaign.yaml 的 not_applicable 格式不对：{detail}，例如 not_applicable: {{\"411591\": [\"1.1.7\", \"2.2.1\"]}}。"),
    "C030": (ERROR, "单位代码 {unit_code} 不在单位名单 units.csv 中，未延期。请核对代码（xlsx-workflow status 列出每个单位的代码）。"),
    "C010": (ERROR, "办公室邮箱「{email}」格式不对，应写成 zscq@example.cn 这样的地址（各单位的邮件和回复都用它）。请改正后再保存。"),
    # Unit lists (U…): the office's own .xlsx/.csv
    "C024": (WARNING, "考核名称「{title}」与考核细则的名称不同，主办单位和联系人没有沿用细则中的默认值。请在 campaign.yaml 的 office 中填写主办单位（name）、联系人（people）、电话（phone）、邮箱（email）和地址（address），再生成自评表。"),
    "C026": (WARNING, "单位名单中没有一个单位是考核细则的默认单位（细则由{office}制定），主办单位和联系人没有沿用细则中的默认值。请在 campaign.yaml 的 office 中填写本办公室的主办单位（name）、联系人（people）、电话（phone）、邮箱（email）和地址（address）{title_hint}，再生成自评表。"),
    "C025": (WARNING, "campaign.yaml 是按 GBK 编码保存的（Windows 记事本的“ANSI”），已按 GBK 读取。建议另存为 UTF-8：记事本“文件 → 另存为”，编码选“UTF-8”。"),
    "U001": (ERROR, "找不到单位名单文件 {path}。请检查路径。"),
    "U002": (ERROR, "单位名单的格式 {ext} 不支持。请在 Excel/WPS 中另存为 .xlsx 或 .csv 后重试。"),
    "U003": (ERROR, "无法读取单位名单：{detail}。请用 Excel/WPS 打开后另存为 .xlsx 或 .csv（UTF-8 或 GBK 编码）再试。"),
    "U004": (ERROR, "单位名单缺少“{columns}”列（第{row}行的表头是：{found}）。表头须有“代码”“名称”两列，可选“类型”“邮箱”。"),
    "U005": (ERROR, "第{row}行：单位代码为空。请填写代码（如 411502），或删除这一行。"),
    "U006": (ERROR, "第{row}行：单位代码 {unit_code} 的名称为空。请填写单位名称。"),
    "U007": (ERROR, "第{row}行：单位代码 {unit_code} 与第{other}行重复。每个单位的代码必须唯一。"),
    "U008": (ERROR, "单位名单中没有单位：表头（第{row}行）下面没有数据行。"),
    "U009": (WARNING, "第{row}行：单位类型「{type}」不在考核细则用到的类型（{known}）中，“不适用”规则不会对该单位生效。请确认是否写错。"),
    "U010": (WARNING, "第{row}行：邮箱「{email}」格式不对，发送自评表时会失败。请改正。"),
    "U021": (INFO, "第{row}行：{what}「{raw}」含全角字符或空格，已按「{value}」读入。请在单位名单中改正，以免与其他表格对不上。"),
    "U023": (WARNING, "第{row}行：邮箱栏填了{n}个地址「{raw}」，已按第一个「{value}」读入，自评表和通知都发到这个地址。每个单位只填一个邮箱；其他联系人的邮箱请写在联系人信息表中。"),
    "U022": (WARNING, "第{row}行表头的“{column}”列不是单位名单的列（可用：{known}），这一列的内容没有读入。如果它就是其中某一列，请把表头改成该列名。"),
    # Contacts and mail (M…): 联系人名录, mail drafts and sending, fetching replies
    "M001": (WARNING, "{unit} 缺少邮箱：没有已接收的联系人信息表，单位名单 units.csv 中也没有邮箱，无法发送邮件。请导入该单位的联系人信息表，或在 units.csv 的“邮箱”列填写。"),
    "M002": (ERROR, "找不到 {unit} 的{what}（{path}）。请先运行 xlsx-workflow generate DIR 生成后再发送。"),
    "M003": (ERROR, "campaign.yaml 中没有发件邮箱（office 下的 email 项为空）。请填写办公室的邮箱地址后重试。"),
    "M004": (ERROR, "邮件模板 {path} 有错误：{detail}。请改正模板；也可删除 DIR/templates/mail/ 改用内置模板。"),
    "M005": (ERROR, "不加密的连接只允许连接本机（127.0.0.1）用于测试，{host} 不行：否则密码会以明文在网络上传输。请改用 --ssl（通常端口 465/993）或 --starttls（通常端口 587）。"),
    "M006": (ERROR, "邮箱服务器 {host} 拒绝登录（{detail}）。请核对用户名；QQ、163、126、139 等邮箱须填写在网页邮箱“设置 → 账户”中开启 SMTP/IMAP 服务后得到的“授权码”，而不是登录密码。"),
    "M007": (ERROR, "发给 {unit}（{to}）的邮件未能发出：{detail}（已尝试 {tries} 次）。其他单位不受影响；请稍后重新运行 xlsx-workflow mail DIR --send，已发出的不会重发。"),
    "M008": (ERROR, "邮箱服务器拒收发给 {unit}（{to}）的邮件：{detail}。请核对收件地址（联系人名录或 units.csv）后重新发送。"),
    "M009": (INFO, "{unit} 已于 {at} 发给 {to}，附件未变，本次不再重发。"),
    "M010": (ERROR, "无法连接邮箱服务器 {host}:{port}：{detail}。请核对服务器地址和端口（如 QQ 邮箱 smtp.qq.com:465、imap.qq.com:993），并确认网络可用。"),
    "M011": (ERROR, "邮箱中没有文件夹「{folder}」（{detail}）。收件箱通常是 INBOX；请用 --folder 指定。"),
    "M012": (WARNING, "来信地址 {sender} 与 {unit} 登记的邮箱 {expected} 不一致。请核实这份报送确实来自该单位；如联系人已更换，请让该单位重新报送联系人信息表。"),
    "M013": (INFO, "邮件「{subject}」（来自 {sender}）没有附件，未导入。"),
    "M014": (ERROR, "无法读取邮件文件 {path}：{detail}。请从邮箱中重新“另存为 .eml”后再导入。"),
    "M015": (INFO, "{unit} 的{what}邮件已于 {at} 发给 {to}，本次不再重发。"),
    "M016": (ERROR, "还没有考核结果（找不到或无法读取 {path}）。请先运行 xlsx-workflow report DIR 计算得分并生成各单位反馈单，再发送考核结果。"),
    "M017": (ERROR, "找不到 {unit} 的反馈单（{path}）。请重新运行 xlsx-workflow report DIR 生成反馈单后再发送。"),
    "M018": (INFO, "{unit} 尚未报送自评表，离截止日期 {deadline} 还有 {left} 天（多于 --days {days} 天），本次不发催报。"),
    # Batch import (B…): the import pipeline around the per-file checks
    "B001": (ERROR, "检查该文件时出现意外错误（{detail}），未能导入。请用 Excel/WPS 打开后另存为 .xlsx 再发送；仍不行时请把文件交给系统维护人员。"),
    "B002": (WARNING, "{unit} 尚未报送自评表，截止日期 {deadline} 已过{days}天。请催报。"),
    "B003": (WARNING, "{unit} 报送的自评表均被退回（有错误，未计分），截止日期 {deadline}。请把问题清单发回该单位，请其改正后重新报送。"),
    "B004": (INFO, "{unit} 尚未报送自评表，截止日期 {deadline}（{left}）。"),
    # Office parameters, scoring and review (S…): 市级核定数据.xlsx, score, 审核表.xlsx
    "S001": (WARNING, "还没有市级核定数据表 {path}：需要市级数据的细则暂按“待市级核定”（0分）计。请运行 xlsx-workflow params DIR 生成该表，填写后重新运行 score。"),
    "S002": (WARNING, "{unit}的「{label}」（{field}）未填写，相关细则暂按“待市级核定”（0分）计。请在该单元格填写后重新运行 score。"),
    "S003": (WARNING, "「{label}」（{field}）一列各单位均未填写，相关细则暂按“待市级核定”（0分）计。请在 {column} 列填写后重新运行 score。"),
    "S004": (ERROR, "{unit}的「{label}」（{field}）填写的「{value}」无效：{detail}。该项按未填写计，相关细则待市级核定；请改正后重新运行 score。"),
    "S005": (WARNING, "第{row}行的单位代码「{unit_code}」不在单位名单中，该行未读取。请核对代码，或重新运行 xlsx-workflow {command} DIR（已填内容会保留）。"),
    "S006": (WARNING, "单位名单中的{unit}在市级核定数据表中没有对应的行，其市级数据按未填写计。请重新运行 xlsx-workflow params DIR（已填数据会保留）后补填。"),
    "S007": (ERROR, "无法读取{what} {path}（{detail}）。请确认它是用 Excel/WPS 保存的 .xlsx 文件；已损坏时可改名备份后重新运行 xlsx-workflow {command} DIR 生成新表。"),
    "S008": (ERROR, "无法保存{what} {path}（{detail}）。该文件可能正在 Excel/WPS 中打开，或文件夹没有写入权限：请关闭该文件后重试。"),
    "S009": (ERROR, "{what}的表头被改动，找不到“{columns}”列，未读取。请恢复表头，或把该表改名备份后重新运行 xlsx-workflow {command} DIR 生成新表再填写。"),
    "S010": (ERROR, "{unit} 条款 {clause} 的核定分 {new} 与系统计算分 {old} 不同，但没有填写核定理由。该条款暂按系统计算分计；请在 {reason_cell} 填写核定理由后重新运行 score。"),
    "S011": (ERROR, "{unit} 条款 {clause} 的核定分「{value}」无效：应为 {min} 到 {max} 之间的数字（该条款满分 {max} 分）。该条款暂按系统计算分计；请改正后重新运行 score。"),
    "S012": (WARNING, "{unit} 条款 {clause} 需重新审核：核定后收到新的报送，系统计算分由 {old} 分变为 {new} 分，原核定分 {points} 分（审核人：{reviewer}）暂仍有效。请重新运行 xlsx-workflow review DIR，复核该行后修改核定分或核定理由（如注明“已复核”）。"),
    "S013": (WARNING, "第{row}行（单位「{unit_code}」、条款「{clause}」）不在本次评分中：单位或条款不存在，或该单位没有可评分的自评表。该行未读取。"),
    "S014": (INFO, "已记入台账：{unit} 条款 {clause} 由 {old} 分核定为 {new} 分（审核人：{reviewer}；理由：{reason}）。"),
    "S015": (WARNING, "{unit}报送的自评表均被退回（共 {count} 份，最近一份收到于 {at}），不参加排名。请通知该单位按问题清单修改后重新报送。"),
    "S020": (WARNING, "有 {count} 条须市级确认的评分（{units} 个单位；条款 {clauses}）尚未确认：这些条款依据单位自报的次数、件数或自评分计分。请在审核表“市级确认”页逐项核实后填写核定分（属实的填系统计算分；可整列复制“系统计算分”后粘贴为数值）。"),
    "S016": (WARNING, "没有可评分的自评表：所有单位均未报送或报送的均被退回。请先运行 xlsx-workflow import DIR 文件…… 导入报送材料。"),
    # Simulated returns (Z…): xlsx-workflow simulate, for demos and tests
    "Z001": (ERROR, "找不到 {units} 的自评表或联系人信息表（应在 {dir} 中）。请先运行 xlsx-workflow generate DIR 生成后再运行 simulate。"),
    "Z002": (INFO, "未安装 LibreOffice（soffice 命令），{unit} 的自评表未用 LibreOffice 另存，按原样报送。"),
    "Z003": (WARNING, "用 LibreOffice 另存 {unit} 的自评表失败（{detail}），按原样报送。"),
    # Generating workbooks (G…)
    "G001": (ERROR, "未能生成 {unit} 的{what}：{detail}。其他单位不受影响；请排除原因后重新运行 generate。"),
    "G003": (WARNING, "主办单位的{missing}没有填写（campaign.yaml 的 office），各单位自评表“填报说明”页的联系方式将空缺，单位有问题时无从联系。请填写后重新运行 generate，再下发。"),
    "G004": (WARNING, "考核名称仍是考核细则的名称「{title}」，但单位名单不是细则的默认单位：自评表和报告的标题都会用这个名称。如果这是另一个地区的考核，请在 campaign.yaml 中修改 title 后重新运行 generate，再下发。"),
    "G002": (WARNING, "文件夹 {dir} 中有不属于当前单位名单的旧文件：{files}。请勿下发；确认无用后可删除。"),
    # LibreOffice conversions (O…)
    "O001": (ERROR, "找不到 LibreOffice（soffice 命令）。请安装 LibreOffice（如 apt-get install libreoffice-calc-nogui）后重试。"),
    "O002": (ERROR, "LibreOffice 未能把 {src} 转换为 {fmt}（退出码 {rc}）：{stderr}"),
    "O003": (ERROR, "LibreOffice 转换 {src} 超过 {timeout} 秒仍未完成，已中止。请检查文件是否过大或损坏。"),
    # Word/Markdown report (D…): templates an office may have edited
    "D001": (ERROR, "报告模板 {name} 有错误：{detail}。请对照内置模板改正（xlsx-workflow report-templates 可重新复制一份），或删除该文件改用内置模板。"),
    "D002": (ERROR, "报告模板引用了不存在的表格「{name}」。可用的表格：{known}。"),
    # Identifying a return (I…): whose workbook is it, for which campaign and rubric
    "I001": (ERROR, "这份工作簿属于另一次考核（考核编号 {found}），不是本次考核（{expected}）下发的。请用本次下发的自评表重新填写后报送。"),
    "I002": (ERROR, "这份工作簿按考核细则「{found}」生成，本次考核用的是「{expected}」。请用本次下发的自评表重新填写后报送。"),
    "I003": (ERROR, "这份工作簿按旧版考核细则生成（第{found}版，校验值 {found_hash}），本次考核细则为第{expected}版（{expected_hash}），填报项可能已变化。请用最新下发的自评表重新填写后报送。"),
    "I004": (ERROR, "工作簿中的单位代码 {unit_code}（{unit_name}）不在本次考核的单位名单中。请确认是否发错了文件；若名单有误，请先更正单位名单并重新生成。"),
    "I005": (WARNING, "需人工确认：工作簿标识的单位是 {unit_code} {expected}，但表内显示的是「{shown}」。可能用了其他单位的自评表，请与报送单位核实。"),
    "I006": (WARNING, "需人工确认：工作簿的标识信息（隐藏的标识表和文档属性）已丢失，可能是把数据粘贴到了新工作簿中；按表内显示的单位「{shown}」识别为 {unit_code} {unit_name}。请与报送单位核实，最好请其用下发的自评表重新填写。"),
    "I007": (ERROR, "无法识别这份工作簿：没有标识信息，{detail}。请确认附件是否发错；自评表须用下发的工作簿填写。"),
    "I008": (ERROR, "工作簿中找不到“自评表”或其表头（编号、填报值、材料编号），可能表被改名、删除或表头被改动。请用下发的自评表重新填写后报送。"),
    # Tampering (T…): locked content, protection, structure, cached totals
    "T001": (ERROR, "自评表中锁定的内容（细则原文、分值、公式或表头）被改动过，与下发时的校验值不符。请用下发的自评表重新填写（只填浅黄色单元格）后报送。"),
    "T002": (WARNING, "工作表「{sheet}」的保护被撤销了。撤销保护本身不影响评分，但请勿改动锁定的内容；锁定内容是否被改动另行核对。"),
    "T003": (WARNING, "自评表的行被插入、删除或移动过（{detail}）。已按“编号”列找到各填报项继续读取，但锁定内容无法核对；请用下发的自评表重新填写，不要插入或删除行。"),
    "T004": (WARNING, "工作簿中显示的总分 {cached} 分与系统按填报值重新计算的 {computed} 分不一致（「{cell}」）。以系统计算为准；可能是公式被改动或未重新计算，请审核时留意。"),
    "T005": (ERROR, "自评表的行被插入、删除或移动过（{detail}），并且锁定的内容（细则原文、分值、公式、表头或“编号”列）与下发时不符，无法确认各填报值对应哪一项，不予计分。请用下发的自评表重新填写（只填浅黄色单元格，不要插入、删除行，不要改动“编号”列）后报送。"),
    "T006": (ERROR, "「{cell}」与「{other}」的编号都是 {field}（{label}），填报值却不同（「{value}」与「{other_value}」），无法确定以哪一个为准，不予计分。请删去多出的一行（只保留下发时的那一行），核对填报值后重新报送。"),
    "T010": (ERROR, "无法读取工作簿（{detail}）。文件可能已损坏：请用 Excel/WPS 打开后另存为 .xlsx 再发送。"),
    # Values (V…): every 填报值 checked again (Excel validation is bypassed by paste)
    "V001": (ERROR, "「{cell}」{label}应填整数（次数、件数），现在是「{value}」。请只填阿拉伯数字，不带单位或文字，如 3。"),
    "V002": (ERROR, "「{cell}」{label}应填数字，现在是「{value}」。请只填数字，不带单位或文字，如 12.5。"),
    "V003": (ERROR, "「{cell}」{label}的值 {value} 小于下限 {min}。请改为不小于 {min} 的数。"),
    "V004": (ERROR, "「{cell}」{label}的值 {value} 超过上限 {max}。请改为不大于 {max} 的数。"),
    "V005": (ERROR, "「{cell}」{label}的值「{value}」不是可选项。请从下拉框选择：{options}。"),
    "V006": (ERROR, "「{cell}」{label}的自评分 {value} 不是 {step} 分的整数倍。请按 {step} 分为单位填写，如 1.5。"),
    "V007": (ERROR, "「{cell}」{label}应填日期，现在是「{value}」。请按 2021-06-30 的格式填写日期。"),
    "V008": (ERROR, "「{cell}」{label}的日期 {value} 不在统计期间（{window}）内，不能计分。请核对日期；确实不在期间内的材料请删去。"),
    "V009": (WARNING, "「{cell}」{label}填了 {value}，明显偏大（通常不超过 {limit}）。请核对是否多填了位数；审核时会重点核实。"),
    "V010": (WARNING, "「{cell}」{label}未填写，按{scored}计分。如有相关工作请补填。"),
    "V011": (ERROR, "自评表中找不到填报项 {field}（{label}）的行，可能被删除了。请用下发的自评表重新填写，不要删除行。"),
    "V020": (ERROR, "自评表未填写：“自评表”应填的 {total} 个填报项中填写了 {filled} 项{detail}，视为未填写（判定规则：填写的少于应填项的十分之一即不足 {needed} 项，或所填全部是“否”或 0），本表未接收、不计分，贵单位仍按“未报送”统计。请在“自评表”浅黄色的“填报值”列逐项如实填写（已开展的工作填“是”或次数、件数，未开展的填“否”或 0），并在“材料编号”列注明支撑材料后重新报送。"),
    "V012": (INFO, "「{cell}」填报项 {field} 所在指标对本单位不适用，填写的内容「{value}」已忽略。"),
    # Evidence (E…): 材料编号, 材料清单, evidence files, 扣分事项
    "E001": (WARNING, "「{cell}」细则 {clause} 自评得分，但没有填写材料编号。请在“材料清单”中列出支撑材料，并把序号填在此处（多份用顿号分隔，如 1、3）。"),
    "E002": (ERROR, "「{cell}」的材料编号 {number} 在“材料清单”中没有对应的材料（该序号一行是空的）。请在“材料清单”第 {number} 号填写材料名称和文件名，或改正编号。"),
    "E003": (WARNING, "“材料清单”编号不连续：序号 {numbers} 是空行（「{cell}」）。请把材料依次往上填，不要留空行。"),
    "E004": (WARNING, "“材料清单”「{cell}」与「{other}」重复（{what}「{value}」）。请删去重复的一行，并相应改正自评表中的材料编号。"),
    "E005": (WARNING, "“材料清单”「{cell}」列出的文件「{file}」没有随表报送。请补发该文件，或改正文件名。"),
    "E006": (WARNING, "随表报送的文件「{file}」没有列入“材料清单”。请在“材料清单”中补列，或确认是否多发了。"),
    "E007": (ERROR, "「{cell}」的材料编号「{value}」无法识别。请填写“材料清单”中的序号，多份用顿号分隔，如 1、3、5。"),
    "E008": (WARNING, "「{cell}」填报了扣分情形（细则 {clause}），但“扣分事项”表中没有对应的记录。请在“扣分事项”表逐件写明时间、相关主体、事由、处理情况和影响，并选择对应扣分项“{clause}”。"),
    "E009": (WARNING, "“扣分事项”「{cell}」缺少{missing}。请补全每件事的时间、相关主体、事由、处理情况和影响。"),
    # Contact form (K…): 联系人
    "K001": (ERROR, "「{cell}」手机号码「{value}」格式不对，应为以 13～19 开头的 11 位数字，如 13812345678。请改正。"),
    "K002": (ERROR, "「{cell}」电话「{value}」格式不对，应带区号，如 0376-6312865。请改正。"),
    "K003": (WARNING, "「{cell}」传真「{value}」格式不对，应带区号，如 0376-6312865。请改正。"),
    "K004": (ERROR, "「{cell}」邮箱「{value}」格式不对，应如 name@163.com。请改正。"),
    "K005": (ERROR, "「{cell}」联系人姓名未填写。请填写姓名，或删除这一行。"),
    "K006": (ERROR, "「{cell}」联系人 {name} 的职务/职级未填写。请补填。"),
    "K007": (ERROR, "“联系人”表中没有填写任何联系人，本表未接收，联系人信息表仍按“未报送”统计。请至少填写一位联系人（姓名、职务/职级、电话或手机、邮箱）后重新报送。"),
    "K008": (ERROR, "「{cell}」联系人 {name} 的手机和电话都没有填写。请至少填写一个联系电话。"),
    # Report workbooks (X…): 排名汇总.xlsx and the per-unit 反馈单
    "X001": (ERROR, "无法保存 {file}（{detail}）。该文件可能正在 Excel/WPS 中打开，或文件夹没有写入权限：请关闭该文件后重新运行 xlsx-workflow report。"),
    # Web console (W…): xlsx-workflow serve
    "W001": (ERROR, "没有访问权限：请用启动控制台时窗口里显示的链接（带 token=…）打开。链接只在本次运行有效；若已关闭控制台，请重新运行 xlsx-workflow serve 并使用新显示的链接。"),
    "W002": (ERROR, "请求被拒绝：表单不是从本控制台的页面提交的，或页面已过期（安全校验码不符）。请回到控制台页面，刷新后重新操作。"),
    "W003": (ERROR, "上传的内容共 {size}，超过一次上传的上限 {limit}。请分几次上传（如先传自评表，再分批传证明材料）；确需更大时，用 xlsx-workflow serve --max-upload-mb 调整上限。"),
    "W004": (ERROR, "文件「{file}」大小 {size}，超过单个文件的上限 {limit}，本次上传未保存。请压缩其中的图片或拆分后再传；确需更大时，用 xlsx-workflow serve --max-file-mb 调整上限。"),
    "W005": (ERROR, "文件名或路径「{name}」不安全（含“..”、盘符或以“/”开头的绝对路径），已拒收，本次上传未保存。请把文件改名后重新上传。"),
    "W006": (ERROR, "找不到「{path}」：它不在本控制台管理的考核活动文件夹中，或尚未生成。请从页面上的链接进入。"),
    "W007": (ERROR, "正在进行“{job}”，请等它完成后再操作（进度见页面）。"),
    "W008": (ERROR, "考核活动文件夹「{name}」已存在。请换一个名称，或在考核活动列表中打开它。"),
    "W009": (ERROR, "请填写{what}。"),
    "W010": (ERROR, "上传的「{file}」不是可读取的{what}（{detail}）。请上传从本页面下载、用 Excel/WPS 填写保存的 .xlsx 文件，不要改动表头。"),
    "W011": (ERROR, "没有收到文件。请把文件、文件夹或压缩包拖入虚线框，或点“选择文件”。"),
    "W012": (ERROR, "拒绝访问：地址「{host}」不是本机。控制台只接受从本机 127.0.0.1 打开的页面。"),
    "W013": (ERROR, "“{what}”未完成：出现意外错误（{detail}）。已完成的部分不受影响；请重试，仍不行时把控制台窗口中的错误信息交给系统维护人员。"),
    "W014": (ERROR, "没有填写邮箱授权码（或密码）。请在“授权码”框中填写后再发送；授权码只用于本次发送，不会保存。"),
}


# One phrase per kind of problem, in 公文 wording: the summary line of a problem list (28 clauses
# without 材料编号 → one line) and the report's 常见问题. No cells, no codes.
KINDS: dict[str, str] = {
    "V001": "应填整数的填报项填了文字或带单位的数",
    "V002": "应填数字的填报项填了文字或带单位的数",
    "V003": "填报值小于下限",
    "V004": "填报值超过上限",
    "V005": "填报值不是下拉框中的可选项",
    "V006": "自评分不是规定分值档次的整数倍",
    "V007": "应填日期的填报项日期格式不对",
    "V008": "填报的日期不在统计期间内",
    "V009": "填报值明显偏大，需核实",
    "V010": "填报项未填写",
    "E001": "自评得分但未填写材料编号",
    "E002": "材料编号在材料清单中没有对应材料",
    "E003": "材料清单编号不连续",
    "E004": "材料清单中有重复的材料",
    "E005": "材料清单所列文件未随表报送",
    "E006": "随表报送的文件未列入材料清单",
    "E007": "材料编号无法识别",
    "E008": "填报了扣分情形但扣分事项表中没有对应记录",
    "E009": "扣分事项记录不完整",
    "K001": "联系人手机号码格式不对",
    "K002": "联系人电话格式不对",
    "K003": "联系人传真格式不对",
    "K004": "联系人邮箱格式不对",
    "K005": "联系人姓名未填写",
    "K006": "联系人职务/职级未填写",
    "K008": "联系人未填写联系电话",
    "T002": "工作表保护被撤销",
    "T003": "自评表的行被插入、删除或移动",
    "T004": "工作簿显示的总分与重新计算的不一致",
}

def issue(code: str, where: str = "", **values) -> Issue:
    severity, template = CATALOGUE[code]
    return Issue(code, severity, template.format(**values), where)


class WorkflowError(Exception):
    """A stage could not go on; carries the issues that say why."""

    def __init__(self, issues: list[Issue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))
