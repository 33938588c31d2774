"""Command line: each command parses options, calls one library function, prints a summary.

Library errors (WorkflowError) become click exceptions here and nowhere else. With --json a
command prints one JSON document on stdout; messages go to stderr.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cli_zh import ZhGroup, install as _install_chinese_click
from .messages import ERROR, WorkflowError
from .rubric import builtin_ids, builtin_rubric, load_rubric, resolve
from .rubric.check import check_rubric
from .rubric.describe import describe_rubric

_install_chinese_click()  # click's own usage errors and help headings in Chinese


def emit_json(doc) -> None:
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


def fail(err: WorkflowError) -> None:
    for i in err.issues:
        click.echo(str(i), err=True)
    errors = sum(1 for i in err.issues if i.severity == ERROR) or len(err.issues)
    others = len(err.issues) - errors
    raise click.ClickException(f"共 {errors} 个错误" + (f"（另有 {others} 条警告或提示）" if others else "")
                               + "，未完成。")


def _call(func, *args, **kwargs):
    """`func(...)`, with a WorkflowError printed as Chinese messages and a non-zero exit."""
    try:
        return func(*args, **kwargs)
    except WorkflowError as e:
        fail(e)


def _load(name: str):
    return _call(lambda: load_rubric(resolve(name)))


@click.group(cls=ZhGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xlsx-workflow")
def main():
    """xlsx-workflow：用 Excel 组织年度考核（细则 → 自评表 → 导入 → 评分 → 报告）。"""


@main.group()
def rubric():
    """考核细则：列出、查看、检查、导出。"""


@rubric.command("list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def rubric_list(as_json):
    """列出内置考核细则。"""
    items = []
    for rid in builtin_ids():
        r = builtin_rubric(rid)
        items.append({"id": r.id, "title": r.title, "version": r.version,
                      "indicators": len(r.indicators), "fields": len(r.unit_fields)})
    if as_json:
        emit_json({"rubrics": items})
        return
    for it in items:
        click.echo(f"{it['id']}\t{it['title']}（{it['indicators']}项指标，{it['fields']}个填报项）")


@rubric.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（字段清单见 DESIGN 合同）。")
def rubric_show(name, as_json):
    """查看细则 NAME（内置编号或 YAML 文件）的指标与填报项。"""
    doc = describe_rubric(_load(name))
    if as_json:
        emit_json(doc)
        return
    click.echo(f"{doc['title']}（{doc['id']} 第{doc['version']}版）")
    for ind in doc["indicators"]:
        click.echo(f"  {ind['id']}. {ind['name']}（{ind['max']}分）")
    click.echo(f"填报项 {len(doc['fields'])} 个：")
    for f in doc["fields"]:
        click.echo(f"  {f['id']}\t{f['type']}\t{f['label']}")


@rubric.command("check")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def rubric_check(name, as_json):
    """检查细则：编号唯一、引用有效、选项有效、下级满分与上级一致。有错误时退出码为1。"""
    try:
        rub, issues = check_rubric(str(resolve(name)))
    except WorkflowError as e:
        fail(e)
    errors = [i for i in issues if i.severity == "错误"]
    if as_json:
        emit_json({"id": rub.id if rub else None, "ok": not errors,
                   "issues": [i.to_dict() for i in issues],
                   "notes": rub.notes if rub else []})
    else:
        for i in issues:
            click.echo(str(i), err=True)
        if rub and rub.notes:
            click.echo("细则说明（notes）：", err=True)
            for n in rub.notes:
                click.echo(f"  - {n}", err=True)
        click.echo(f"{name}：{len(errors)} 个错误，{len(issues) - len(errors)} 个警告/提示。")
    if errors:
        sys.exit(1)


@rubric.command("export")
@click.argument("name")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def rubric_export(name, target, as_json):
    """把细则导出为可打印的《考核细则》Excel 表 TARGET。"""
    from .rubric.export import export_rubric
    path = export_rubric(_load(name), target)
    if as_json:
        emit_json({"files": [str(Path(path).resolve())]})
    else:
        click.echo(f"已导出：{Path(path).resolve()}")


@main.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--rubric", "rubric_name", required=True,
              help="考核细则：内置编号（如 ip-protection-2021）或 YAML 文件。")
@click.option("--units", "units_file", type=click.Path(dir_okay=False, path_type=Path),
              help="单位名单 .xlsx 或 .csv（列：代码、名称、类型、邮箱）；不给时用细则中的默认单位。")
@click.option("--deadline", help="自评材料报送截止日期 YYYY-MM-DD；联系人信息表截止日期为其前9天。")
@click.option("--title", help="考核名称（默认用细则名称）。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def init(directory, rubric_name, units_file, deadline, title, as_json):
    """创建考核活动文件夹 DIRECTORY：campaign.yaml 和单位名单 units.csv。"""
    from .campaign import init_campaign
    camp = _call(init_campaign, directory, rubric_name, units_file, deadline, title)
    for w in camp.warnings:
        click.echo(str(w), err=True)
    lay = camp.layout
    if as_json:
        emit_json({"id": camp.id, "campaign": str(lay.campaign_file), "units_file": str(lay.units_file),
                   "units": len(camp.units), "files": [str(lay.campaign_file), str(lay.units_file)],
                   "warnings": [w.to_dict() for w in camp.warnings]})
    else:
        click.echo(f"已创建考核活动 {camp.id}（{len(camp.units)} 个单位）：{lay.campaign_file}")


@main.command("generate")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--jobs", default=2, show_default=True, type=click.IntRange(1, 64), help="并行进程数。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（DESIGN 合同：workbooks、contact_forms）。")
def generate(directory, jobs, as_json):
    """为每个单位生成自评表和联系人信息表，放在 DIRECTORY/generate/ 中。"""
    from .generate import generate_campaign
    with _LazyProgress("生成自评表") as tick:
        result = _call(generate_campaign, directory, jobs=jobs, progress=tick)
    for i in result.warnings + result.errors:
        click.echo(str(i), err=True)
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(f"已生成 {len(result.workbooks)} 份自评表、{len(result.contact_forms)} 份联系人信息表："
                   f"{Path(directory).resolve() / 'generate'}")
    if result.errors:
        sys.exit(1)


@main.command("import")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--jobs", default=2, show_default=True, type=click.IntRange(1, 64), help="并行进程数。")
@click.option("--no-feedback", is_flag=True, help="不写反馈文件（问题清单和标注副本）。")
@click.option("--json", "as_json", is_flag=True,
              help="输出 JSON（DESIGN 合同：accepted、rejected、flagged、missing、files）。")
def import_(directory, paths, jobs, no_feedback, as_json):
    """导入各单位报送的文件 PATHS（文件、文件夹或 .zip）：先归档，再检查、评分、记入台账。

    有问题的文件不会中断导入；最后列出汇总表和尚未报送的单位。只有用法错误（如考核活动或路径不存在）时退出码非0。"""
    from .import_status import import_summary
    from .importer import import_paths
    with _LazyProgress("检查报送表") as tick:
        try:
            result = import_paths(directory, list(paths), progress=tick, jobs=jobs,
                                  feedback=not no_feedback)
        except WorkflowError as e:
            fail(e)
    if as_json:
        emit_json(result.to_json())
        return
    for f in result.returns + result.refused:
        for i in f.errors:
            click.echo(f"{f.name}：{i}", err=True)
    click.echo(import_summary(result))


@main.command("status")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def status(directory, as_json):
    """各单位报送情况：是否收到、收到时间、版本数、是否逾期、错误和警告数、状态。"""
    from .import_status import campaign_status, status_table
    st = _call(campaign_status, directory)
    if as_json:
        emit_json(st.to_json())
        return
    click.echo(f"{st.campaign.title}（{st.campaign.id}），截止日期 "
               f"{st.campaign.deadlines.get('materials') or '未定'}")
    click.echo(status_table(st))
    for i in st.missing_issues():
        click.echo(str(i), err=True)


@main.command("contacts")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def contacts(directory, as_json):
    """生成联系人名录 DIRECTORY/联系人名录.xlsx（联系人信息表或自评表“联系人”页，取较新的一份；其次单位名单中的邮箱）。"""
    from .contacts import build_contacts
    result = _call(build_contacts, directory)
    for w in result.warnings:
        click.echo(str(w), err=True)
    if as_json:
        emit_json(result.to_json())
        return
    missing = sum(1 for c in result.contacts if not c.email)
    click.echo(f"联系人名录：{result.path}（{len(result.contacts) - missing} 个单位有邮箱，"
               f"{missing} 个缺少邮箱）")


@main.command("extend")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("unit", required=False)
@click.argument("day", required=False, metavar="[YYYY-MM-DD]")
@click.option("--contact", "kind", flag_value="contact",
              help="延长联系人信息表的截止日期（默认延长自评表的截止日期）。")
@click.option("--remove", is_flag=True, help="取消该单位的延期。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def extend(directory, unit, day, kind, remove, as_json):
    """给单位 UNIT（单位代码）延期到 DAY，记在 campaign.yaml 的 extensions 中；不给 UNIT 时列出所有延期。

    逾期判定和催报邮件（mail --remind）按延期后的日期。"""
    from .campaign import deadline_for, load_campaign
    from .extensions import set_extension
    kind = kind or "materials"
    if unit and not (day or remove):
        raise click.UsageError("请给出延期后的日期 YYYY-MM-DD，或加 --remove 取消延期。")
    camp = _call(set_extension, directory, unit, None if remove else day, kind) if unit \
        else _call(load_campaign, directory)
    for w in camp.warnings:
        click.echo(str(w), err=True)
    rows = [{"unit_code": u.code, "unit_name": u.name,
             "materials": str(deadline_for(camp, u.code, "materials") or ""),
             "contact": str(deadline_for(camp, u.code, "contact") or "")}
            for u in camp.units if u.code in camp.extensions]
    if as_json:
        emit_json({"extensions": rows, "files": [str(camp.layout.campaign_file)]})
        return
    common = camp.deadlines
    click.echo(f"统一截止日期：自评表 {common.get('materials') or '未定'}，"
               f"联系人信息表 {common.get('contact') or '未定'}")
    for r in rows:
        click.echo(f"  {r['unit_code']} {r['unit_name']}：自评表 {r['materials'] or '未定'}，"
                   f"联系人信息表 {r['contact'] or '未定'}")
    if not rows:
        click.echo("  没有单位延期。")


def _secret(env: str, prompt: str) -> str:
    """A password from the environment variable `env`, else asked for (never echoed or saved)."""
    import os
    return os.environ.get(env) or click.prompt(prompt, hide_input=True, err=True)


@main.command("mail")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--send", is_flag=True, help="实际发送；不加时只写草稿（DIR/mail/草稿/）和发送清单。")
@click.option("--smtp", "host", help="发件服务器（SMTP），如 smtp.163.com、smtp.qq.com。")
@click.option("--port", type=click.IntRange(1, 65535), help="端口；默认 --ssl 465，--starttls 587。")
@click.option("--ssl", "security", flag_value="ssl", default=True, help="SSL 加密连接（默认）。")
@click.option("--starttls", "security", flag_value="starttls", help="STARTTLS 加密连接。")
@click.option("--plain", "security", flag_value="plain", help="不加密，只允许 127.0.0.1（测试用）。")
@click.option("--user", help="登录名（一般是完整邮箱地址）；默认为 campaign.yaml 中办公室的邮箱。")
@click.option("--pause", default=5.0, show_default=True, type=click.FloatRange(0),
              help="两封邮件之间暂停的秒数（防止被邮箱服务商限流）。")
@click.option("--retries", default=3, show_default=True, type=click.IntRange(0, 10),
              help="临时失败（4xx、连接中断）时的重试次数。")
@click.option("--edit-template", is_flag=True,
              help="把内置邮件模板复制到 DIR/templates/mail/ 供修改（已有则不覆盖），不写草稿；"
                   "与 --feedback 等同用时复制这些邮件的模板。")
@click.option("--feedback", "kinds", flag_value="feedback", multiple=True,
              help="给报送表有问题的单位发问题清单和标注副本（DIR/import/反馈/）。")
@click.option("--receipt", "kinds", flag_value="receipt", multiple=True,
              help="给自评表已接收的单位发回执（收到时间、版本、系统计算总分、后续安排）。")
@click.option("--remind", "kinds", flag_value="remind", multiple=True,
              help="给尚未报送（或报送均被退回）的单位发催报：截止日期前 --days 天内，或已逾期。")
@click.option("--results", "kinds", flag_value="results", multiple=True,
              help="给已评分的单位发考核结果和反馈单（DIR/report/反馈单/）。")
@click.option("--days", default=3, show_default=True, type=click.IntRange(0, 366),
              help="与 --remind 同用：离本单位截止日期（含延期）不超过几天时催报。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def mail(directory, send, host, port, security, user, pause, retries, edit_template, kinds, days,
         as_json):
    """给每个单位写邮件草稿（附自评表和联系人信息表）；加 --send 时经 SMTP 发出。

    加 --feedback、--receipt、--remind、--results 时改为写（并发送）这些后续邮件；
    每封邮件只发一次（记在台账中）。

    密码（授权码）取自环境变量 XW_SMTP_PASSWORD，没有时提示输入；不会写入任何文件。"""
    from .followup import template_names
    from .mail import SmtpSettings, copy_template, prepare_mail, send_mail
    kinds = list(dict.fromkeys(kinds))
    if kinds and not edit_template:
        return _mail_followups(directory, kinds, days, send, host, port, security, user, pause,
                               retries, as_json)
    try:
        if edit_template:
            paths = copy_template(directory, template_names(kinds))
            if as_json:
                emit_json({"files": [str(p) for p in paths]})
            else:
                for path in paths:
                    click.echo(f"邮件模板：{path}（修改后运行 xlsx-workflow mail DIR 查看草稿）")
            return
        if not send:
            result = prepare_mail(directory)
        else:
            if not host:
                raise click.UsageError("--send 需要 --smtp 发件服务器。")
            from .campaign import load_campaign
            login = user or load_campaign(directory).office.email
            settings = SmtpSettings(host, port, security, login, None, pause, retries)
            if prepare_mail(directory).pending:  # nothing to send: no password asked for
                settings.password = _secret("XW_SMTP_PASSWORD", f"{login} 的授权码（或密码）")
            with _LazyProgress("发送邮件") as tick:
                result = send_mail(directory, settings, progress=tick)
    except WorkflowError as e:
        fail(e)
    for i in result.warnings + result.errors:
        click.echo(str(i), err=True)
    if as_json:
        emit_json(result.to_json())
    else:
        drafts = sum(1 for d in result.drafts if d.path)
        click.echo(f"邮件草稿 {drafts} 封，发送清单：{result.list_file}")
        if send:
            click.echo(f"本次发出 {len(result.sent)} 封，已发过未重发 {len(result.skipped)} 封，"
                       f"失败 {len(result.failed)} 封。")
    if result.errors:
        sys.exit(1)


def _mail_followups(directory, kinds, days, send, host, port, security, user, pause, retries,
                    as_json):
    """mail --feedback/--receipt/--remind/--results: drafts, and with --send delivery."""
    from .mail import SmtpSettings
    from .outbox import prepare_followups, send_followups
    labels = {"feedback": "问题反馈", "receipt": "回执", "remind": "催报", "results": "考核结果"}
    try:
        result = prepare_followups(directory, kinds, days)
        if send:
            if not host:
                raise click.UsageError("--send 需要 --smtp 发件服务器。")
            from .campaign import load_campaign
            login = user or load_campaign(directory).office.email
            settings = SmtpSettings(host, port, security, login, None, pause, retries)
            if result.pending:  # nothing to send: no password asked for
                settings.password = _secret("XW_SMTP_PASSWORD", f"{login} 的授权码（或密码）")
            with _LazyProgress("发送邮件") as tick:
                result = send_followups(directory, kinds, settings, days, progress=tick)
    except WorkflowError as e:
        fail(e)
    for i in result.warnings + result.errors:
        click.echo(str(i), err=True)
    if as_json:
        emit_json(result.to_json())
    else:
        for kind in kinds:
            mine = [d for d in result.drafts if d.kind == kind]
            line = f"{labels[kind]}邮件：待发送草稿 {sum(1 for d in mine if d.path)} 封"
            if send:
                line += f"，本次发出 {sum(1 for x in result.sent if x['kind'] == kind)} 封"
            skipped = sum(1 for x in result.skipped if x["kind"] == kind)
            click.echo(line + f"，已发过未重发 {skipped} 封。")
        for path in result.lists:
            click.echo(f"发送清单：{path}")
    if result.errors:
        sys.exit(1)


@main.command("fetch")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--imap", "host", required=True, help="收件服务器（IMAP），如 imap.163.com、imap.qq.com。")
@click.option("--user", required=True, help="登录名（一般是完整邮箱地址）。")
@click.option("--port", type=click.IntRange(1, 65535), help="端口；默认 --ssl 993，--no-ssl 143。")
@click.option("--ssl/--no-ssl", "use_ssl", default=True, show_default=True,
              help="SSL 加密连接；--no-ssl 时用 STARTTLS（只有 127.0.0.1 可以不加密）。")
@click.option("--folder", default="INBOX", show_default=True, help="邮箱文件夹。")
@click.option("--jobs", default=2, show_default=True, type=click.IntRange(1, 64), help="导入时的并行进程数。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def fetch(directory, host, user, port, use_ssl, folder, jobs, as_json):
    """从邮箱收取新邮件的附件到 DIRECTORY/inbox/ 并导入；收过的邮件不再收取。

    密码（授权码）取自环境变量 XW_IMAP_PASSWORD，没有时提示输入；不会写入任何文件。"""
    from .fetch import ImapSettings, fetch_mail
    password = _secret("XW_IMAP_PASSWORD", f"{user} 的授权码（或密码）")
    settings = ImapSettings(host, user, password, port, use_ssl, folder)
    try:
        with _LazyProgress("收取邮件") as tick:
            result = fetch_mail(directory, settings, jobs=jobs, progress=tick)
    except WorkflowError as e:
        fail(e)
    for w in result.warnings:
        click.echo(str(w), err=True)
    if as_json:
        emit_json(result.to_json())
        return
    files = sum(len(m.files) for m in result.messages)
    click.echo(f"新邮件 {len(result.messages)} 封，附件 {files} 个已保存到 "
               f"{Path(directory).resolve() / 'inbox'} 并导入；此前已收取 {result.seen} 封。")


@main.command("params")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def params(directory, as_json):
    """生成（或更新）市级核定数据表 DIRECTORY/params/市级核定数据.xlsx，已填数据保留。"""
    from .params import write_params
    result = _call(write_params, directory)
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(f"已生成市级核定数据表（{result.units} 个单位，每单位 {len(result.columns)} 项、"
                   f"全市 {len(result.campaign_columns)} 项，保留已填 {result.kept} 项）："
                   f"{result.path}")


@main.command("score")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（DESIGN 合同：units）。")
def score(directory, as_json):
    """计算得分并排名（读取台账、市级核定数据表和审核表），写出 DIRECTORY/score/得分.json。"""
    from .score import ranking_lines, run_score
    run = _call(run_score, directory)
    for i in run.issues:
        click.echo(str(i), err=True)
    if as_json:
        emit_json({**run.result.to_json(), "files": [str(p) for p in run.files]})
    else:
        for line in ranking_lines(run.result):
            click.echo(line)
        click.echo(f"已写出：{run.files[0]}")
    if run.errors:
        sys.exit(1)


@main.command("review")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def review(directory, as_json):
    """生成（或更新）审核表 DIRECTORY/review/审核表.xlsx，已填的核定分、理由和审核人保留。"""
    from .review import write_review
    result = _call(write_review, directory)
    for i in result.issues:
        click.echo(str(i), err=True)
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(f"已生成审核表（{result.rows} 行，保留已填 {result.kept} 行，"
                   f"需重新审核 {result.flagged} 行）：{result.path}")


@main.command("report-templates")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def report_templates(directory, as_json):
    """把考核情况报告的模板复制到 DIRECTORY/templates/report/ 供修改（已有的文件不覆盖）。"""
    from .campaign import load_campaign
    from .report.docx_report import copy_templates
    try:
        load_campaign(directory)
    except WorkflowError as e:
        fail(e)
    folder = copy_templates(directory)
    files = sorted(str(p) for p in folder.iterdir() if p.is_file())
    if as_json:
        emit_json({"dir": str(folder), "files": files})
    else:
        click.echo(f"报告模板在 {folder}：修改 report.j2 中的措辞后重新生成报告即可；删除文件则恢复内置模板。")


@main.command("simulate")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=0, show_default=True, type=int, help="随机种子：同样的种子填出同样的内容。")
@click.option("--params", "with_params", is_flag=True,
              help="同时像市级办公室那样填写市级核定数据表 params/市级核定数据.xlsx（演示用；已填的数据保留）。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（每个单位做了什么、文件和收到时间）。")
def simulate(directory, seed, with_params, as_json):
    """模拟各单位填报（演示和测试用）：把 generate/ 中的自评表填好放进 DIRECTORY/simulate/收件/。"""
    from .simulate import simulate_campaign, summary_lines
    with _LazyProgress("模拟填报") as tick:
        result = _call(simulate_campaign, directory, seed=seed, progress=tick)
    filled = None
    if with_params:
        from .simulate import simulate_params
        filled = _call(simulate_params, directory, seed=seed)
    for i in result.notes:
        click.echo(str(i), err=True)
    if as_json:
        emit_json({**result.to_json(), **({"params": filled.to_json()} if filled else {})})
        return
    for line in summary_lines(result):
        click.echo(line)
    click.echo(f"已放入 {result.inbox}（收到时间见各文件修改时间和 {Path(result.manifest).name}）；"
               f"截止日期 {result.deadline.isoformat()}。")
    if filled:
        click.echo(f"市级核定数据已填写 {filled.filled} 项（保留已填 {filled.kept} 项）：{filled.path}")

class _LazyProgress:
    """A click progress bar on stderr, opened at the first tick (when the total is known)."""

    def __init__(self, label: str):
        self.label, self.bar = label, None

    def __enter__(self):
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(1)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False


@main.command("report")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（DESIGN 合同：files）。")
def report(directory, as_json):
    """计算得分并写出报告：DIRECTORY/report/ 下的排名汇总.xlsx、考核情况报告.docx/.md 和各单位反馈单。

    市级核定数据或审核表有错误时仍写出报告，但退出码为1。"""
    from .report.build import write_all
    from .score import run_score
    try:
        run = run_score(directory)
        files = write_all(run.result)
    except WorkflowError as e:
        fail(e)
    for i in run.issues:
        click.echo(str(i), err=True)
    if as_json:
        emit_json({"files": [str(p) for p in run.files + files]})
    else:
        _print_report(run, files)
    if run.errors:  # as `score`: the report is written, but a figure or review row needs fixing
        sys.exit(1)


def _print_report(run, files) -> None:
    res = run.result
    click.echo(f"参评 {len(res.scored)} 个单位，未评分 {len(res.not_scored)} 个，未报送 {len(res.missing)} 个。")
    named = {p.name: p for p in files}
    for name in ("排名汇总.xlsx", "考核情况报告.docx", "考核情况报告.md"):
        if name in named:
            click.echo(f"  {name}：{named[name]}")
    sheets = [p for p in files if p.name.endswith("反馈单.xlsx")]
    if sheets:
        click.echo(f"  各单位反馈单 {len(sheets)} 份：{sheets[0].parent}")


@main.command("run")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--jobs", default=2, show_default=True, type=click.IntRange(1, 64), help="并行进程数。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON：import、score、files。")
def run_all(directory, paths, jobs, as_json):
    """一次完成 导入 → 评分 → 报告。PATHS 为报送文件（不给时导入 DIRECTORY/inbox/，即 fetch 收取的邮件附件）。"""
    from .importer import import_paths
    from .layout import layout
    from .report.build import write_all
    from .score import run_score
    targets = list(paths) or [p for p in (layout(directory).inbox_dir,) if p.is_dir()]
    try:
        imported = None
        if targets:
            with _LazyProgress("检查报送表") as tick:
                imported = import_paths(directory, targets, progress=tick, jobs=jobs)
        run = run_score(directory)
        files = write_all(run.result)
    except WorkflowError as e:
        fail(e)
    for i in run.issues:
        click.echo(str(i), err=True)
    if as_json:
        emit_json({"import": imported.to_json() if imported else None,
                   "score": run.result.to_json(),
                   "files": [str(p) for p in run.files + files]})
    elif imported is not None:
        from .import_status import import_summary
        for f in imported.returns + imported.refused:
            for i in f.errors:
                click.echo(f"{f.name}：{i}", err=True)
        click.echo(import_summary(imported))
    else:
        click.echo(f"没有要导入的文件（{layout(directory).inbox_dir} 不存在），直接评分。")
    if not as_json:
        for line in ranking_lines_of(run):
            click.echo(line)
        _print_report(run, files)
    if run.errors:  # as `score`: the report is written, but the office must fix its workbooks
        sys.exit(1)


def ranking_lines_of(run) -> list[str]:
    from .score import ranking_lines
    return ranking_lines(run.result)


@main.command("serve")
@click.argument("dirs", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(1, 65535), help="端口；默认 8765（被占用时自动另选）。")
@click.option("--no-browser", is_flag=True, help="不自动打开浏览器（只显示链接）。")
@click.option("--max-upload-mb", default=200, show_default=True, type=click.IntRange(1, 10000),
              help="一次上传的总大小上限（MB）。")
@click.option("--max-file-mb", default=100, show_default=True, type=click.IntRange(1, 10000),
              help="单个上传文件的大小上限（MB）。")
def serve(dirs, port, no_browser, max_upload_mb, max_file_mb):
    """打开办公室网页控制台：在浏览器中完成整个考核流程（只允许本机访问）。

    DIRS 是考核活动文件夹，或存放多个考核活动的文件夹（新建的考核活动也放在这里）；不给时用当前文件夹。"""
    from .console.server import serve as run_console
    run_console(list(dirs), port=port, open_browser=not no_browser,
                max_upload_mb=max_upload_mb, max_file_mb=max_file_mb)
