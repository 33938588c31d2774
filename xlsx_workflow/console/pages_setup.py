"""Pages before the returns come in: campaigns, 新建考核 (init), 单位名单, 生成自评表 (generate,
with a zip of every workbook), 邮件 (mail drafts and sending) and file downloads."""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..generate import generate_campaign
from ..layout import sanitise
from ..mail import prepare_mail, send_mail
from ..messages import WorkflowError, issue
from ..transport import SmtpSettings
from .campaigns import (OFFICE_KEYS, NewCampaign, create, keep_rubric, load_uploaded_rubric,
                        new_folder, preview_units, rubric_choices)
from .security import Refused, inside, read_form

DOWNLOADABLE = ("generate", "import", "report", "review", "params", "mail", "联系人名录.xlsx")


def routes(page) -> list[Route]:
    return [Route("/", page(index)), Route("/new", page(new_form)),
            Route("/new", page(new_create), methods=["POST"]),
            Route("/c/{key}/units", page(units)),
            Route("/c/{key}/generate", page(generate_page)),
            Route("/c/{key}/generate", page(generate_start), methods=["POST"]),
            Route("/c/{key}/generate.zip", page(generate_zip)),
            Route("/c/{key}/mail", page(mail_page)),
            Route("/c/{key}/mail", page(mail_send), methods=["POST"]),
            Route("/c/{key}/files/{path:path}", page(download))]


async def index(request: Request, console):
    rows = []
    for key, root in console.registry.all().items():
        try:
            camp = console.campaign(key)
            rows.append({"key": key, "title": camp.title, "rubric": camp.rubric.title,
                         "units": len(camp.units), "folder": str(root),
                         "deadline": camp.deadlines.get("materials")})
        except WorkflowError as e:
            rows.append({"key": key, "title": key, "folder": str(root), "issues": e.issues})
    return console.render(request, "index.html", campaigns=rows, home=console.registry.home)


async def new_form(request: Request, console, values=None, preview=None, issues=(), status=200):
    return console.render(request, "new.html", status, rubrics=rubric_choices(),
                          values=values or {}, preview=preview, issues=list(issues),
                          home=console.registry.home)


async def new_create(request: Request, console):
    form = await read_form(request, console.keys)
    values = {k: str(form.get(k) or "") for k in
              ("folder", "rubric", "title", "materials", "contact",
               *[f"office_{k}" for k in OFFICE_KEYS])}
    home = console.registry.home
    with tempfile.TemporaryDirectory(prefix="xw-new-") as tmp:
        units_file = await _save_upload(form.get("units"), Path(tmp))
        rubric = values["rubric"] or "ip-protection-2021"
        yaml_file = form.get("rubric_file")
        try:
            root = new_folder(home, values["folder"])
            if getattr(yaml_file, "filename", ""):
                rubric = load_uploaded_rubric(await _save_upload(yaml_file, Path(tmp) / "细则"))
            preview = (await run_in_threadpool(preview_units, units_file, rubric)
                       if units_file else None)
            if preview is not None and not preview.ok:
                return await new_form(request, console, values, preview, preview.errors, 400)
            new = NewCampaign(values["folder"], rubric, values["title"], values["materials"],
                              values["contact"], {k: values[f"office_{k}"] for k in OFFICE_KEYS})
            if getattr(yaml_file, "filename", ""):
                new.rubric = keep_rubric(Path(rubric), root)
            camp = await run_in_threadpool(create, home, new, units_file)
        except WorkflowError as e:
            return await new_form(request, console, values, None, e.issues, 400)
    key = next(k for k, r in console.registry.all().items() if r == camp.root)
    return RedirectResponse(f"/c/{quote(key)}/units?created=1", status_code=303)


async def _save_upload(upload, folder: Path):
    """An uploaded file saved under `folder` with its name made safe; None when none was sent."""
    if upload is None or not getattr(upload, "filename", ""):
        return None
    from .security import upload_path
    folder.mkdir(parents=True, exist_ok=True)
    dest = upload_path(folder, Path(upload.filename.replace("\\", "/")).name)
    dest.write_bytes(await upload.read())
    return dest


async def units(request: Request, console):
    key = request.path_params["key"]
    camp = console.campaign(key)
    preview = await run_in_threadpool(preview_units, camp.layout.units_file, camp.rubric_source)
    return console.render(request, "units.html", camp=camp, key=key, active="units",
                          preview=preview, created=request.query_params.get("created"),
                          issues=camp.warnings)


async def generate_page(request: Request, console):
    key = request.path_params["key"]
    camp = console.campaign(key)
    files = sorted(p.name for p in _generated(camp))
    return console.render(request, "generate.html", camp=camp, key=key, active="generate",
                          files=files, job=console.jobs.running(key))


def _generated(camp) -> list[Path]:
    folder = camp.layout.generate_dir
    return list(folder.glob("*.xlsx")) if folder.is_dir() else []


async def generate_start(request: Request, console):
    key = request.path_params["key"]
    await read_form(request, console.keys)
    camp = console.campaign(key)

    def work(job):
        result = generate_campaign(camp.root, jobs=1, progress=job.progress)
        job.issues += result.warnings + result.errors
        job.summary.append(f"已生成 {len(result.workbooks)} 份自评表、"
                           f"{len(result.contact_forms)} 份联系人信息表。")
    job = console.jobs.start(key, "生成自评表", work, link=f"/c/{quote(key)}/generate",
                             link_label="查看生成的文件")
    return JSONResponse({"ok": True, "job": job.id})


async def generate_zip(request: Request, console):
    """Every generated workbook of the campaign in one zip (names in UTF-8, as Windows reads)."""
    camp = console.campaign(request.path_params["key"])
    files = sorted(_generated(camp))
    if not files:
        raise Refused(issue("W006", path="generate/（尚未生成自评表）"), 404)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in files:
            z.write(p, p.name)
    name = sanitise(f"{camp.title}-自评表") + ".zip"
    return Response(buf.getvalue(), media_type="application/zip",
                    headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


async def download(request: Request, console):
    """A file of the campaign folder, only from the folders an office hands out."""
    camp = console.campaign(request.path_params["key"])
    rel = request.path_params["path"]
    target = inside(camp.root, rel)
    first = target.relative_to(camp.root.resolve()).parts[:1]
    if not first or first[0] not in DOWNLOADABLE or not target.is_file():
        raise Refused(issue("W006", path=rel), 404)
    return FileResponse(target, filename=target.name)


def smtp_settings(form, camp) -> SmtpSettings:
    """The SMTP settings typed on a mail page (the password kept only in the returned object,
    which the sending job clears)."""
    host = str(form.get("host") or "").strip()
    password = str(form.get("password") or "")
    if not host:
        raise WorkflowError([issue("W009", what="发件服务器（SMTP）")])
    if not password:
        raise WorkflowError([issue("W014")])
    port = str(form.get("port") or "").strip()
    try:
        pause = float(form.get("pause") or 5)
    except ValueError:
        pause = 5.0
    return SmtpSettings(host, int(port) if port.isdigit() else None,
                        str(form.get("security") or "ssl"),
                        str(form.get("user") or "").strip() or camp.office.email, password,
                        pause, 3)


async def mail_page(request: Request, console):
    key = request.path_params["key"]
    camp = console.campaign(key)
    result, problems = None, []
    if _generated(camp):
        try:
            # the dry run: drafts and 发送清单, nothing sent
            result = await run_in_threadpool(prepare_mail, camp.root)
            problems = result.warnings + result.errors
        except WorkflowError as e:
            problems = e.issues
    return console.render(request, "mail.html", camp=camp, key=key, active="mail",
                          result=result, issues=problems, job=console.jobs.running(key))


async def mail_send(request: Request, console):
    """Send the drafts (send_mail); the password is used for this job only, never stored."""
    key = request.path_params["key"]
    form = await read_form(request, console.keys)
    camp = console.campaign(key)
    settings = smtp_settings(form, camp)
    del form

    def work(job):
        try:
            result = send_mail(camp.root, settings, progress=job.progress)
        finally:
            settings.password = None
        job.issues += result.warnings + result.errors
        job.summary.append(f"本次发出 {len(result.sent)} 封，已发过未重发 {len(result.skipped)} 封，"
                           f"失败 {len(result.failed)} 封。")
    job = console.jobs.start(key, "发送邮件", work, link=f"/c/{quote(key)}/mail",
                             link_label="查看发送清单")
    return JSONResponse({"ok": True, "job": job.id})
