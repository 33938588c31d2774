"""The console's web application (Starlette): shared state, page rendering and the routes.

Every action calls the same library function as the CLI command of the same name; the page
handlers live in `pages_setup` (campaigns, units, generate, mail, downloads) and `pages_cycle`
(inbox, status, figures, review, ranking, report)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..campaign import Campaign, load_campaign
from ..messages import WorkflowError, issue
from .campaigns import Registry
from .fresh import Results
from .jobs import Jobs
from .security import Guard, Refused, Secrets, refusal
from .wording import console_issues

HERE = Path(__file__).parent
NAV = [("overview", "报送情况"), ("units", "单位名单"), ("generate", "生成自评表"),
       ("mail", "邮件"), ("inbox", "收件导入"), ("params", "市级核定数据"),
       ("review", "审核"), ("ranking", "排名"), ("report", "报告"),
       ("settings", "考核设置")]


@dataclass
class Console:
    """Everything one console run shares between requests."""
    registry: Registry
    keys: Secrets = field(default_factory=Secrets)
    jobs: Jobs = field(default_factory=Jobs)
    results: Results = field(default_factory=Results)
    templates: Jinja2Templates = field(
        default_factory=lambda: Jinja2Templates(directory=str(HERE / "templates")))

    def campaign(self, key: str) -> Campaign:
        """The campaign called `key`; refused (404) when no served campaign has that key."""
        root = self.registry.get(key)
        if root is None:
            raise Refused(issue("W006", path=key), 404)
        return load_campaign(root)

    def render(self, request: Request, name: str, status: int = 200, **context):
        context.setdefault("camp", None)
        context.setdefault("key", None)
        context.update(csrf=self.keys.csrf, nav=NAV, issues=console_issues(context.get("issues")))
        return self.templates.TemplateResponse(request, name, context, status_code=status)


def page(handler):
    """Wrap a handler: a Refused or WorkflowError becomes a Chinese refusal page (or JSON)."""
    async def wrapped(request: Request):
        console: Console = request.app.state.console
        try:
            return await handler(request, console)
        except Refused as e:
            return refusal(request, e.issue, e.status)
        except WorkflowError as e:
            if "application/json" in request.headers.get("accept", ""):
                return JSONResponse({"ok": False, "errors": [i.to_dict() for i in console_issues(e.issues)]},
                                    status_code=400)
            key = request.path_params.get("key")
            camp = _campaign_or_none(console, key)
            return console.render(request, "problem.html", 400, issues=e.issues,
                                  back=request.headers.get("referer", "/"),
                                  key=key if camp else None, camp=camp)
    wrapped.__name__ = handler.__name__
    return wrapped


def _campaign_or_none(console: Console, key):
    """The campaign a refused request was about, for the menu of the problem page."""
    try:
        return console.campaign(key) if key else None
    except (Refused, WorkflowError):
        return None


def create_app(dirs: list[Path], home: Path, keys: Secrets | None = None) -> Starlette:
    """The application for campaigns in `dirs` (new ones created in `home`)."""
    from . import pages_cycle, pages_followup, pages_settings, pages_setup
    from .views import num
    console = Console(Registry(dirs, home), keys or Secrets())
    console.templates.env.filters["num"] = num
    routes = [*pages_setup.routes(page), *pages_cycle.routes(page),
              *pages_followup.routes(page), *pages_settings.routes(page),
              Route("/jobs/{job_id}", page(job_status)),
              Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")]
    app = Starlette(routes=routes, middleware=[Middleware(Guard, keys=console.keys)])
    app.state.console = console
    return app


async def job_status(request: Request, console: Console):
    job = console.jobs.get(request.path_params["job_id"])
    if job is None:
        raise Refused(issue("W006", path=request.path_params["job_id"]), 404)
    return JSONResponse(job.to_json())
