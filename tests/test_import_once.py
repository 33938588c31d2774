"""Import checks and scores each return once: check_values and score_unit run one time per file
(they ran twice: once in `examine`, again in check_return and in the 材料编号 check)."""
from returns_corpus import make_valid

from tests.test_import import make_campaign
from xlsx_workflow import checks, importer


def test_a_return_is_checked_and_scored_once(tmp_path, monkeypatch):
    camp, wbs, _ = make_campaign(tmp_path / "c")
    code = sorted(wbs)[0]
    path = make_valid(wbs[code], tmp_path / "in" / f"{code}.xlsx", camp, seed=1)
    calls = []

    def counted(name, real):
        def wrapper(*a, **kw):
            calls.append(name)
            return real(*a, **kw)
        return wrapper

    monkeypatch.setattr(importer, "score_unit", counted("score", importer.score_unit))
    monkeypatch.setattr(checks, "score_unit", counted("score", checks.score_unit))
    monkeypatch.setattr(checks, "check_values", counted("values", checks.check_values))
    ex = importer.examine(path, camp)
    assert ex.status == "accepted" and ex.total is not None
    assert sorted(calls) == ["score", "values"]
