"""Per-unit deadline extensions (延期), kept in campaign.yaml:

    extensions:
      411502: 2022-06-03                 # the self-assessment (materials) deadline
      411503: {materials: 2022-06-05, contact: 2022-05-25}

Read and checked when the campaign is loaded (unknown unit codes and bad dates are errors), set
by `xlsx-workflow extend` (and the console). Which deadline applies to a unit is answered by
`campaign.deadline_for`, and nowhere else.
"""
from __future__ import annotations

from datetime import date

from .campaign import Campaign, _date, _write_yaml, load_campaign
from .messages import Issue, WorkflowError, issue


def read_extensions(value, campaign: Campaign, where: str) -> tuple[dict, list[Issue]]:
    """campaign.yaml's `extensions:` — `411502: 2022-06-03` (the materials deadline) or
    `411502: {materials: 2022-06-03, contact: 2022-05-25}`; raises WorkflowError (C007, C008)
    listing every bad entry; an extension not later than the deadline is a warning (C009)."""
    if value in (None, "", {}):
        return {}, []
    if not isinstance(value, dict):
        raise WorkflowError([issue("C008", where, unit="extensions", value=value)])
    known = {u.code: u.name for u in campaign.units}
    out, errors, warnings = {}, [], []
    for code, given in value.items():
        code = str(code).strip()
        if code not in known:
            errors.append(issue("C007", where, unit_code=code))
            continue
        days = given if isinstance(given, dict) else {"materials": given}
        for kind, day in days.items():
            parsed = _extension_date(day) if kind in ("materials", "contact") else None
            if parsed is None:
                errors.append(issue("C008", where, unit=f"{code} {known[code]}",
                                    value=f"{kind}: {day}" if isinstance(given, dict) else day))
                continue
            out.setdefault(code, {})[kind] = parsed
            common = campaign.deadlines.get(kind)
            if common is not None and parsed <= common:
                warnings.append(issue("C009", where, unit=f"{code} {known[code]}", day=parsed,
                                      deadline=common))
    if errors:
        raise WorkflowError(errors)
    return out, warnings


def set_extension(dir, unit_code: str, day, kind: str = "materials") -> Campaign:
    """Give one unit a later `kind` deadline (`day` None: take its extension away) and save
    campaign.yaml; what `xlsx-workflow extend` and the console call."""
    camp = load_campaign(dir)
    if str(unit_code) not in {u.code for u in camp.units}:
        raise WorkflowError([issue("C030", "", unit_code=unit_code)])  # typed, not in the file
    ext = {code: dict(days) for code, days in camp.extensions.items()}
    if day is None:
        ext.get(str(unit_code), {}).pop(kind, None)
    else:
        ext.setdefault(str(unit_code), {})[kind] = _date(day)
    camp.extensions = {code: days for code, days in ext.items() if days}
    _write_yaml(camp.layout, camp)
    return load_campaign(dir)


def _extension_date(value) -> date | None:
    try:
        return _date(value)
    except WorkflowError:
        return None


def extensions_lenient(value) -> dict:
    """The extensions an earlier campaign.yaml had, kept by a re-run of init (checked on load)."""
    out = {}
    for code, given in (value.items() if isinstance(value, dict) else []):
        days = given if isinstance(given, dict) else {"materials": given}
        parsed = {k: _extension_date(v) for k, v in days.items()}
        out[str(code)] = {k: v for k, v in parsed.items() if v is not None}
    return {k: v for k, v in out.items() if v}


def extensions_doc(ext: dict) -> dict:
    """A date alone for a materials-only extension, as the office would write it."""
    return {code: (days["materials"].isoformat() if set(days) == {"materials"} else
                   {k: v.isoformat() for k, v in sorted(days.items())})
            for code, days in sorted(ext.items())}
