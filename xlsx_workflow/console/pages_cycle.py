"""Pages once returns come in: 收件导入 (import, with live progress), 报送情况 (status board),
市级核定数据 (params), 审核 (review), 排名 (ranking) and 报告 (report downloads). Scores shown
here always come from `Results.current`, which recomputes whatever is stale."""
from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from ..import_status import campaign_status
from ..importer import import_paths
from ..ledger import STATUS_LABELS
from ..messages import ERROR, WorkflowError, issue
from ..params import campaign_columns, read_raw, unit_columns, write_params
from .edits import replace_params, replace_review, save_params, save_review
from .security import Refused, read_form, upload_path
from .views import board_rows, ranking_view, report_files, review_rows
from .wording import console_issues

UPLOADS = "网页上传"     # DIR/inbox/网页上传/<time>/: what was dropped on the 收件导入 page


def routes(page) -> list[Route]:
    return [Route("/c/{key}", page(overview)),
            Route("/c/{key}/inbox", page(inbox_page)),
            Route("/c/{key}/inbox", page(inbox_upload), methods=["POST"]),
            Route("/c/{key}/params", page(params_page)),
            Route("/c/{key}/params", page(params_save), methods=["POST"]),
            Route("/c/{key}/review", page(review_page)),
            Route("/c/{key}/review", page(review_save), methods=["POST"]),
            Route("/c/{key}/ranking", page(ranking_page)),
            Route("/c/{key}/report", page(report_page))]


def _key_camp(request: Request, console):
    key = request.path_params["key"]
    return key, console.campaign(key)


async def overview(request: Request, console):
    """The status board: one row per unit, with filters and the files to send back."""
    key, camp = _key_camp(request, console)
    st = await run_in_threadpool(campaign_status, camp.root)
    fresh = await run_in_threadpool(console.results.current, camp.root)
    show = request.query_params.get("show", "all")
    rows = board_rows(key, camp, st, fresh, show)
    counts = {s: sum(1 for u in st.units if u.status == s) for s in STATUS_LABELS}
    counts["late"] = sum(1 for u in st.units if u.late)
    code = request.query_params.get("extended")
    saved = _extension_note(camp, code) if code else None
    return console.render(request, "overview.html", camp=camp, key=key, active="overview",
                          rows=rows, show=show, counts=counts, labels=STATUS_LABELS,
                          issues=fresh.failure + [w for w in camp.warnings if w.code == "C009"],
                          job=console.jobs.running(key), saved=saved)


def _extension_note(camp, code: str):
    """What the board says after a unit's deadline was set or removed."""
    unit = next((u for u in camp.units if u.code == code), None)
    if unit is None:
        return None
    day = (camp.extensions.get(code) or {}).get("materials")
    if day:
        return f"已为 {unit.code} {unit.name} 延期至 {day}，逾期按该日期判断（已写入 campaign.yaml）。"
    return (f"已取消 {unit.code} {unit.name} 的延期，截止日期恢复为 "
            f"{camp.deadlines.get('materials') or '未定'}。")


async def inbox_page(request: Request, console):
    key, camp = _key_camp(request, console)
    return console.render(request, "inbox.html", camp=camp, key=key, active="inbox",
                          job=console.jobs.running(key))


async def inbox_upload(request: Request, console):
    """Save the dropped files (folders kept, names made safe) and import them in the background."""
    key, camp = _key_camp(request, console)
    form = await read_form(request, console.keys)
    files = [f for f in form.getlist("files") if getattr(f, "filename", "")]
    if not files:
        raise WorkflowError([issue("W011")])
    mtimes = [str(m) for m in form.getlist("mtime")]
    for f in files:                            # refuse the whole drop before saving any of it
        upload_path(camp.layout.inbox_dir, f.filename)
    batch = camp.layout.inbox_dir / UPLOADS / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    mails = batch.with_name(batch.name + "-邮件")   # saved mails are given to import one by one,
    paths = []                                        # as `import DIR 邮件.eml` opens them
    for n, f in enumerate(files):
        is_mail = f.filename.lower().endswith(".eml")
        dest = upload_path(mails if is_mail else batch, f.filename)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(await f.read())
        _keep_time(dest, mtimes[n] if n < len(mtimes) else "")
        paths.append(dest if is_mail else batch)
    paths = list(dict.fromkeys(paths))
    job = console.jobs.start(key, "导入报送材料", lambda job: _import(job, camp.root, paths),
                             link=f"/c/{quote(key)}", link_label="查看报送情况")
    return JSONResponse({"ok": True, "job": job.id})


def _keep_time(path: Path, millis: str) -> None:
    """The file's own modification time (from the browser) decides 逾期, as on the command line
    where the saved attachment's time is used; never later than now."""
    try:
        when = min(int(millis) / 1000, time.time())
    except ValueError:
        return
    os.utime(path, (when, when))


def _import(job, root: Path, paths: list[Path]) -> None:
    result = import_paths(root, paths, progress=job.progress, jobs=1)
    for f in result.files:
        if f.status is None and not f.errors:
            continue
        job.rows.append({"name": f.name.split("/", 1)[-1], "unit": f.unit_name or f.unit_code or "",
                         "status": STATUS_LABELS.get(f.status, "未能读取") if f.status else "未能读取",
                         "late": f.late, "errors": len(f.errors), "warnings": len(f.warnings),
                         "first": f.errors[0].message if f.errors else ""})
    job.summary.append(f"收到 {len(result.files)} 个文件：已接收 {len(result.by_status('accepted'))} 份，"
                       f"需人工确认 {len(result.by_status('flagged'))} 份，"
                       f"退回 {len(result.by_status('rejected')) + len(result.refused)} 份；"
                       f"尚未报送 {len(result.missing)} 个单位。")


async def params_page(request: Request, console, issues=None, saved=None):
    key, camp = _key_camp(request, console)
    if not camp.layout.params_file.exists():
        await run_in_threadpool(write_params, camp.root)
    per_unit, per_campaign = read_raw(camp.layout.params_file)
    fresh = await run_in_threadpool(console.results.current, camp.root)
    found = [i for i in fresh.issues if i.code in PARAM_CODES]
    errors = [i for i in found if i.severity == ERROR]   # blanks (warnings) listed below the table
    return console.render(request, "params.html", camp=camp, key=key, active="params",
                          cols=unit_columns(camp.rubric), ccols=campaign_columns(camp.rubric),
                          per_unit=per_unit, per_campaign=per_campaign,
                          issues=(issues or []) + errors,
                          blanks=console_issues(i for i in found if i.severity != ERROR),
                          saved=saved)


PARAM_CODES = {"S001", "S002", "S003", "S004", "S005", "S006", "S007", "S009"}


async def params_save(request: Request, console):
    key, camp = _key_camp(request, console)
    form = await read_form(request, console.keys)
    upload = form.get("sheet")
    if getattr(upload, "filename", ""):
        path = await _temp_copy(upload, camp.layout.params_file.parent)
        try:
            await run_in_threadpool(replace_params, camp, path, upload.filename)
        finally:
            path.unlink(missing_ok=True)
        return await params_page(request, console, saved="已上传市级核定数据表，已按新表重新计算。")
    per_unit, per_campaign = {}, {}
    for name, value in form.multi_items():
        if name.startswith("u|"):
            _, code, fid = name.split("|", 2)
            per_unit.setdefault(code, {})[fid] = str(value)
        elif name.startswith("c|"):
            per_campaign[name[2:]] = str(value)
    n = await run_in_threadpool(save_params, camp, per_unit, per_campaign)
    return await params_page(request, console, saved=f"已保存 {n} 项到 市级核定数据.xlsx。")


async def _temp_copy(upload, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".上传-{os.getpid()}-{time.time_ns()}.xlsx"
    path.write_bytes(await upload.read())
    return path


async def review_page(request: Request, console, saved=None, issues=None):
    key, camp = _key_camp(request, console)
    fresh = await run_in_threadpool(console.results.current, camp.root)
    scored = fresh.run.result.scored if fresh.run else []
    code = request.query_params.get("unit") or (scored[0].code if scored else "")
    unit = next((u for u in scored if u.code == code), None)
    rows = review_rows(camp, fresh, unit) if unit else []
    review_issues = [i for i in fresh.issues if i.code in ("S009", "S010", "S011", "S012", "S013")]
    if saved is None and request.query_params.get("saved"):
        saved = f"已保存 {request.query_params['saved']} 条核定到 审核表.xlsx，得分已重新计算。"
    reviewer = next((r["reviewer"] for r in rows if r["reviewer"]), "")
    return console.render(request, "review.html", camp=camp, key=key, active="review",
                          scored=scored, unit=unit, rows=rows, saved=saved, reviewer=reviewer,
                          issues=(issues or []) + fresh.failure + review_issues)


async def review_save(request: Request, console):
    key, camp = _key_camp(request, console)
    form = await read_form(request, console.keys)
    upload = form.get("sheet")
    if getattr(upload, "filename", ""):
        path = await _temp_copy(upload, camp.layout.review_file.parent)
        try:
            await run_in_threadpool(replace_review, camp, path, upload.filename)
        finally:
            path.unlink(missing_ok=True)
        return await review_page(request, console, saved="已上传审核表，已按新表重新计算。")
    code = str(form.get("unit") or "")
    rows = {}
    for name, value in form.multi_items():
        if name.startswith("points|"):
            cid = name.split("|", 1)[1]
            rows[(code, cid)] = (str(value), str(form.get(f"reason|{cid}") or ""))
    n = await run_in_threadpool(save_review, camp, rows, str(form.get("reviewer") or ""))
    return RedirectResponse(f"/c/{quote(key)}/review?unit={quote(code)}&saved={n}",
                            status_code=303)


async def ranking_page(request: Request, console):
    key, camp = _key_camp(request, console)
    fresh = await run_in_threadpool(console.results.current, camp.root)
    return console.render(request, "ranking.html", camp=camp, key=key, active="ranking",
                          view=ranking_view(camp, fresh), issues=fresh.failure)


async def report_page(request: Request, console):
    key, camp = _key_camp(request, console)
    fresh = await run_in_threadpool(console.results.current, camp.root)
    return console.render(request, "report.html", camp=camp, key=key, active="report",
                          files=report_files(key, camp, fresh), issues=fresh.issues)


__all__ = ["routes", "Refused"]
