"""The follow-up mail pages (issue 12 in the console): 发回问题清单, 发送回执, 催报 and 发送考核结果.

Each page is first a dry run (`prepare_followups`: the drafts with recipient, subject and
attachments, written to mail/草稿/<种类>/, and the 发送清单), then a send with the password typed
in the page (`send_followups`, in a background job; the password lives only in that job's
settings and is cleared when it ends). The ledger records each message delivered, so the page
shows "已于……发送，不再重发" for those and a re-send delivers nothing twice."""
from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..followup import DEFAULT_DAYS, KINDS, REMIND, RESULTS
from ..messages import WorkflowError, issue
from ..outbox import prepare_followups, send_followups
from .pages_setup import smtp_settings
from .security import Refused, read_form
from .views import file_link

# URL word → (page title, what the send button says, what the page says the mail is for)
TITLES = {"feedback": ("发回问题清单", "发回尚未发出的问题清单",
                       "报送的自评表（或联系人信息表）有错误或警告的单位，发回其问题清单和标注副本，请其改正后重新报送。"),
          "receipt": ("发送回执", "发送尚未发出的回执",
                      "已接收自评表的单位各收到一封回执：收到时间、版本、总分预览和下一步安排。"),
          "remind": ("催报", "发送尚未发出的催报邮件",
                     "尚未报送（或报送的均被退回）、离截止日期不足设定天数或已逾期的单位各收到一封催报邮件；截止日期按该单位自己的（含延期）。"),
          "results": ("发送考核结果", "发送尚未发出的考核结果",
                      "每个已评分的单位收到其反馈单（得分、等级、名次和扣分说明）。")}


def routes(page) -> list[Route]:
    return [Route("/c/{key}/mail/{kind}", page(followup_page)),
            Route("/c/{key}/mail/{kind}", page(followup_send), methods=["POST"])]


def _kind(request: Request) -> str:
    kind = request.path_params["kind"]
    if kind not in KINDS:
        raise Refused(issue("W006", path=f"mail/{kind}"), 404)
    return kind


def _days(value) -> int:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else DEFAULT_DAYS


async def followup_page(request: Request, console):
    """The dry run of one kind: its drafts (nothing sent), with what the ledger already has."""
    key, kind = request.path_params["key"], _kind(request)
    camp = console.campaign(key)
    days = _days(request.query_params.get("days"))
    result, problems = None, []
    try:
        if kind == RESULTS:      # the 反馈单 and 得分.json of the current scores, never stale
            problems += (await run_in_threadpool(console.results.current, camp.root)).failure
        result = await run_in_threadpool(prepare_followups, camp.root, [kind], days)
        # M015 ("sent before, not again") is the 状态 column of the table itself
        problems += result.errors + [w for w in result.warnings if w.code != "M015"]
    except WorkflowError as e:
        problems += e.issues
    rows = [_row(key, camp, d) for d in result.drafts] if result else []
    return console.render(request, "followup.html", camp=camp, key=key, active="mail",
                          kind=kind, title=TITLES[kind], rows=rows, days=days,
                          folder=KINDS[kind].label,
                          remind=kind == REMIND, issues=problems,
                          pending=sum(1 for r in rows if r["pending"]),
                          list_link=file_link(key, camp, result.lists[0]) if result and
                          result.lists else None, job=console.jobs.running(key))


def _row(key: str, camp, d) -> dict:
    return {"code": d.unit_code, "name": d.unit_name, "to": d.to, "subject": d.subject,
            "attachments": [file_link(key, camp, p) for p in d.attachments],
            "status": d.status, "delivered": d.delivered, "pending": bool(d.path) and not d.delivered,
            "draft": file_link(key, camp, d.path) if d.path else None}


async def followup_send(request: Request, console):
    """Deliver the drafts of one kind not delivered before; the password is used once."""
    key, kind = request.path_params["key"], _kind(request)
    form = await read_form(request, console.keys)
    camp = console.campaign(key)
    settings = smtp_settings(form, camp)
    days = _days(form.get("days"))
    del form
    if kind == RESULTS:
        await run_in_threadpool(console.results.current, camp.root)

    def work(job):
        try:
            result = send_followups(camp.root, [kind], settings, days=days, progress=job.progress)
        finally:
            settings.password = None
        job.issues += result.errors + result.warnings
        job.summary.append(f"本次发出 {len(result.sent)} 封，已发过未重发 {len(result.skipped)} 封，"
                           f"失败 {len(result.failed)} 封。")
    link = f"/c/{quote(key)}/mail/{kind}" + (f"?days={days}" if kind == REMIND else "")
    job = console.jobs.start(key, TITLES[kind][0], work, link=link, link_label="查看发送情况")
    return JSONResponse({"ok": True, "job": job.id})
