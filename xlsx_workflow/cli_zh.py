"""click's own texts (usage errors, help headings) in Chinese.

click looks every text it prints up through gettext (`_()` / `ngettext()` bound in each of its
modules). `install()` rebinds those names in click's modules to a lookup in ZH, so "Missing
argument", "No such option", "Usage:", "Options" … reach the office in Chinese; a text not in
ZH stays as click wrote it. Called once when cli.py is imported.
"""
from __future__ import annotations

import importlib
import re

import click

ZH = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "%(prog)s, version %(version)s": "%(prog)s 版本 %(version)s",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "可运行“{command} {option}”查看用法。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少命令。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "Did you mean {possibility}?": "是不是要用 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是不是要用其中之一：{possibilities}？）",
    "Option {name!r} does not take a value.": "选项 {name!r} 后面不能跟值。",
    "Option {name!r} requires an argument.": "选项 {name!r} 后面须跟一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 后面须跟 {nargs} 个值。",
    "Got unexpected extra argument ({args})": "多出了参数（{args}）",
    "Got unexpected extra arguments ({args})": "多出了参数（{args}）",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 须有 {nargs} 个值。",
    "Takes {nargs} values but 1 was given.": "须有 {nargs} 个值，只给了1个。",
    "Takes {nargs} values but {len} were given.": "须有 {nargs} 个值，给了 {len} 个。",
    "Invalid value: {message}": "值无效：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "{value!r} 不是有效的是/否值。可用：{states}",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不是 {choices} 之一。",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats}。",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，应为文件夹。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是文件夹，应为文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 无法读取。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 无法写入。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "unknown error": "未知错误",
    "File": "文件",
    "Directory": "文件夹",
    "Path": "路径",
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "integer": "整数",
    "float": "数字",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "Aborted!": "已中止。",
    "Do you want to continue?": "是否继续？",
}
_METAVARS = {"INTEGER RANGE": "整数", "FLOAT RANGE": "数字", "INTEGER": "整数", "FLOAT": "数字",
             "TEXT": "文字", "FILE": "文件", "PATH": "路径", "BOOLEAN": "是/否"}
_USAGE = {"[OPTIONS]": "[选项]", "COMMAND [ARGS]...": "命令 [参数]..."}
_MODULES = ("core", "exceptions", "parser", "formatting", "types", "decorators", "termui", "utils")


def gettext(message: str) -> str:
    """click's text in Chinese when ZH has it, else unchanged."""
    return ZH.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def install() -> None:
    """Rebind `_` and `ngettext` in click's modules to the Chinese lookup."""
    for name in _MODULES:
        mod = importlib.import_module(f"click.{name}")
        if hasattr(mod, "_"):
            mod._ = gettext
        if hasattr(mod, "ngettext"):
            mod.ngettext = ngettext


class ZhFormatter(click.HelpFormatter):
    """Help text with Chinese headings (选项：, 命令：), usage words and type names."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        for en, zh in _USAGE.items():
            args = args.replace(en, zh)
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{gettext(heading)}：\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(_metavar(a), b) for a, b in rows], col_max, col_spacing)


def _metavar(term: str) -> str:
    return re.sub("|".join(rf"\b{k}\b" for k in _METAVARS), lambda m: _METAVARS[m.group()], term)


class ZhContext(click.Context):
    formatter_class = ZhFormatter


class ZhCommand(click.Command):
    context_class = ZhContext


class ZhGroup(click.Group):
    """The command group whose commands and subgroups all print click's texts in Chinese."""
    context_class = ZhContext
    command_class = ZhCommand
    group_class = type
