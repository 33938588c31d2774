"""Command line: each command parses options, calls one library function, prints a summary.

Library errors (WorkflowError) become click exceptions here and nowhere else. With --json a
command prints one JSON document on stdout; messages go to stderr.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .messages import WorkflowError
from .rubric import builtin_ids, builtin_rubric, load_rubric, resolve
from .rubric.check import check_rubric
from .rubric.describe import describe_rubric


def emit_json(doc) -> None:
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


def fail(err: WorkflowError) -> None:
    for i in err.issues:
        click.echo(str(i), err=True)
    raise click.ClickException(f"共 {len(err.issues)} 个错误，未完成。")


def _load(name: str):
    try:
        return load_rubric(resolve(name))
    except WorkflowError as e:
        fail(e)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    try:
        camp = init_campaign(directory, rubric_name, units_file, deadline, title)
    except WorkflowError as e:
        fail(e)
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
        try:
            result = generate_campaign(directory, jobs=jobs, progress=tick)
        except WorkflowError as e:
            fail(e)
    for i in result.warnings + result.errors:
        click.echo(str(i), err=True)
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(f"已生成 {len(result.workbooks)} 份自评表、{len(result.contact_forms)} 份联系人信息表："
                   f"{Path(directory).resolve() / 'generate'}")
    if result.errors:
        sys.exit(1)


def _secret(env: str, prompt: str) -> str:
    """A password from the environment variable `env`, else asked for (never echoed or saved)."""
    import os
    return os.environ.get(env) or click.prompt(prompt, hide_input=True, err=True)


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
