"""考核设置 (an existing campaign's title, office and deadlines) and per-unit deadline
extensions (延期) from the status board; both write campaign.yaml through the library
(`campaign.update_campaign`, `extensions.set_extension`), as `init` and `extend` write it."""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from ..campaign import update_campaign
from ..extensions import set_extension
from ..messages import WorkflowError, issue
from .campaigns import OFFICE_KEYS
from .security import read_form

FIELDS = ("title", "materials", "contact", *[f"office_{k}" for k in OFFICE_KEYS])
# campaign.yaml key (the `where` of update_campaign's issues) → (form field, its label)
KEYS = {"title": ("title", "考核名称"), "office.email": ("office_email", "邮箱"),
        "deadlines.materials": ("materials", "自评表截止日期"),
        "deadlines.contact": ("contact", "联系人信息表截止日期")}


def routes(page) -> list[Route]:
    return [Route("/c/{key}/settings", page(settings_page)),
            Route("/c/{key}/settings", page(settings_save), methods=["POST"]),
            Route("/c/{key}/extend", page(extend), methods=["POST"])]


def _values(camp) -> dict:
    d = camp.deadlines
    values = {"title": camp.title, "materials": d["materials"].isoformat() if d["materials"] else "",
              "contact": d["contact"].isoformat() if d["contact"] else ""}
    values.update({f"office_{k}": getattr(camp.office, k) for k in OFFICE_KEYS})
    return values


async def settings_page(request: Request, console, values=None, issues=(), status=200, bad=()):
    key = request.path_params["key"]
    camp = console.campaign(key)
    saved = "已保存到 campaign.yaml。" if request.query_params.get("saved") else None
    return console.render(request, "settings.html", status, camp=camp, key=key,
                          active="settings", values=values or _values(camp),
                          issues=list(issues), saved=saved, bad=set(bad))


async def settings_save(request: Request, console):
    key = request.path_params["key"]
    form = await read_form(request, console.keys)
    camp = console.campaign(key)
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    try:
        await run_in_threadpool(
            update_campaign, camp.root, values["title"],
            {k: values[f"office_{k}"] for k in OFFICE_KEYS},
            {"materials": values["materials"], "contact": values["contact"]})
    except WorkflowError as e:
        found = [KEYS.get(i.where.rsplit(" ", 1)[-1]) for i in e.issues]
        issues = [replace(i, where=k[1]) if k else i for i, k in zip(e.issues, found)]
        return await settings_page(request, console, values, issues, 400,
                                   bad={k[0] for k in found if k})
    return RedirectResponse(f"/c/{quote(key)}/settings?saved=1", status_code=303)


async def extend(request: Request, console):
    """Set (or, with the 取消延期 button or a blank date, remove) one unit's own deadline."""
    key = request.path_params["key"]
    form = await read_form(request, console.keys)
    camp = console.campaign(key)
    code = str(form.get("unit") or "").strip()
    day = "" if form.get("remove") else str(form.get("day") or "").strip()
    if not code:
        raise WorkflowError([issue("W009", what="单位")])
    await run_in_threadpool(set_extension, camp.root, code, day or None)
    return RedirectResponse(f"/c/{quote(key)}?extended={quote(code)}#u-{quote(code)}",
                            status_code=303)
