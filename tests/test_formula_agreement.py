"""One definition, two targets: the workbook's formulas and the engine give the same scores.

For each rubric, many seeded random valid fills (plus probes at rounding, step and division
edges) go into ONE workbook, one row per fill: input cells hold the values, every clause,
indicator, dimension, group, the total and the grade hold `"=" + to_excel(expr)`. An independent
evaluator (the `formulas` package) and real LibreOffice compute the workbook; every cell must
equal the engine's `score_unit` result exactly at the rubric's places.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from rubric_builder import BASE, write_doc

from xlsx_workflow.engine import score_unit
from xlsx_workflow.office import recalculate
from xlsx_workflow.rubric import builtin_ids, builtin_rubric, load_rubric
from xlsx_workflow.rubric.expr import Expr, Ref, evaluate, refs, to_excel
from xlsx_workflow.rubric.parse import parse
from xlsx_workflow.rubric.model import Rubric
from xlsx_workflow.rubric.sample import (full_marks_inputs, param_kind, random_cohort,
                                         random_inputs, random_params)
from xlsx_workflow.rubric.totals import (clause_name, dimension_expr, grade_expr, group_expr,
                                         indicator_expr, total_expr)

MINI = Path(__file__).parent / "data" / "mini.yaml"
RUBRICS = ["mini", "probe"] + builtin_ids()
RANDOM_FILLS = 200          # per rubric, evaluated by `formulas`
LIBREOFFICE_FILLS = 200     # per rubric, recalculated by LibreOffice (about 1 s a file)
SHEET = "fills"

# Formula clauses on the risky corners of Excel semantics: a blank cell inside MIN, blank vs
# text, ROUND of binary ties (0.01/0.08 = 0.125), a step count on decimals, division guards.
PROBE_FORMULAS = [
    "MIN(2,[a])", "MIN([a],[b])", 'MIN(2,IF([f]="是",[a],1))', 'IF([f]="",1,0)+IF([f]<>"是",0.5,0)',
    'IF([ch]="乙",1,IF([ch]="",0.5,0))', "IF([y]=0,0,[b]/[y])", "[b]*0.7/4",
    "IF([y]<=0,0,MAX(0,ROUNDUP(ROUND(([y]-[b])/(0.1*[y]),9),0)))", "IF([a]=0,0.3,0)"]
# Only LibreOffice computes these as Excel does (15 significant digits); `formulas` uses raw
# binary floats, so 0.1+0.2=0.3 is FALSE there and ROUNDUP((0.1+0.2)*10,0) is 4.
PROBE_FLOAT_FORMULAS = ["IF([b]+[y]=0.3,1,0)", "ROUNDUP(([b]+[y])*10,0)", "IF([b]-[y]>=0,1,0)"]
PROBE_FIELDS = [{"id": "a", "label": "次数", "type": "count", "max": 5},
                {"id": "b", "label": "金额甲", "type": "amount", "max": 2},
                {"id": "y", "label": "金额乙", "type": "amount", "max": 2},
                {"id": "f", "label": "是否", "type": "flag"},
                {"id": "ch", "label": "选项", "type": "choice", "options": ["甲", "乙"]}]


def probe_rubric(formulas: list[str], tmp: Path) -> Rubric:
    """A small rubric with one formula clause per probe (fields hang on the first clause)."""
    clauses = [{"id": f"p{n}", "text": "探针", "kind": "formula", "expr": e, "max": 10,
                "floor": -10, "fields": PROBE_FIELDS if n == 1 else []}
               for n, e in enumerate(formulas, 1)]
    doc = {**BASE, "id": "probe", "params": [],
           "indicators": [{"id": "1", "name": "探针", "dimension": "D", "max": 100,
                           "clauses": clauses}]}
    return load_rubric(write_doc(tmp, doc, "probe.yaml"))


def load(name: str, tmp: Path) -> Rubric:
    if name == "mini":
        return load_rubric(MINI)
    if name == "probe":
        return probe_rubric(PROBE_FORMULAS, tmp)
    if name == "probe-float":
        return probe_rubric(PROBE_FORMULAS + PROBE_FLOAT_FORMULAS, tmp)
    return builtin_rubric(name)


@dataclass
class Fill:
    """One unit's inputs with the office's parameters and the cohort values it is scored with."""
    inputs: dict
    params: dict
    cohort: dict = field(default_factory=dict)


def random_fills(rubric: Rubric, n: int, seed: str) -> list[Fill]:
    rng = random.Random(seed)
    return [Fill(random_inputs(rubric, rng, include_office=True), random_params(rubric, rng),
                 random_cohort(rubric, rng)) for _ in range(n)]


# --- probes: values chosen to sit exactly on a rounding, step or guard edge --------------------

RATIO_EDGES = [(200, 201), (200, 469), (200, 25), (8, 1), (8, 3), (40, 7), (3, 2)]  # (divisor, n)
AVERAGE_EDGES = [(Decimal("1.6"), 1), (Decimal("1.6"), 3), (Decimal("0.8"), 1), (Decimal(0), 0),
                 (Decimal(0), 3), (Decimal("0.4"), 1), (Decimal("2.4"), 3), (Decimal("0.3"), 1)]


def _field_of(clause, key="field") -> str:
    return str(clause.spec.get(key) or clause.fields[0].id)


def _param_of(source) -> str | None:
    return str(source["param"]) if isinstance(source, dict) and "param" in source else None


def probes(clause) -> list[tuple[dict, dict]]:
    """(inputs, params) pairs on the edges of one clause's rule."""
    spec, out = clause.spec, []
    if clause.kind == "growth":
        target = Decimal(str(spec.get("target", 1)))
        step, last = Decimal(str(spec["step"])), str(spec["last_year"])
        for year_before in range(1, 31):
            for v in range(0, int(target * year_before) + 1):
                k = (target * year_before - v) / (step * year_before)
                if k == k.to_integral_value():   # exactly k steps short: ROUNDUP must not add one
                    out.append(({_field_of(clause): v}, {last: year_before}))
    if clause.kind == "threshold_or_growth" and "last_year" in spec:
        g = Decimal(str(spec.get("growth_over", 0)))
        for year_before in range(0, 31):
            edge = year_before * (1 + g)
            if edge == edge.to_integral_value():
                for v in (int(edge), int(edge) + 1):
                    out.append(({_field_of(clause): v}, {str(spec["last_year"]): year_before}))
    divisor = _param_of(spec.get("divisor"))
    if clause.kind == "ratio" and divisor and spec.get("numerator") is None:
        out += [({_field_of(clause): n}, {divisor: d}) for d, n in RATIO_EDGES]
    average = _param_of(spec.get("average"))
    if clause.kind == "relative" and average and spec.get("value") is None:
        out += [({_field_of(clause): v}, {average: a}) for a, v in AVERAGE_EDGES]
    amounts = [f.id for f in clause.fields if f.type == "amount"]
    if len(amounts) > 1:   # equal amounts are not 逐年增加; a 0.01 rise is
        out.append(({f: Decimal("100.1") for f in amounts}, {}))
        out.append(({f: Decimal("100.1") + Decimal("0.01") * n for n, f in enumerate(amounts)}, {}))
    return out


def edge_fills(rubric: Rubric, seed: str, per_clause: int = 15) -> list[Fill]:
    """Blank and all-zero fills (division guards), full marks, and each clause's probes."""
    rng = random.Random(seed)
    lowest = {p.id: p.min if p.min is not None else Decimal(param_kind(p) == "rank")
              for p in rubric.params}
    zeros = {f.id: 0 for f in rubric.fields if f.type in ("count", "amount", "number", "judged")}
    fills = [Fill({}, dict(lowest), {n: Decimal(n.startswith("cohort_rank:"))
                                     for n in random_cohort(rubric, rng)}),
             Fill(zeros, dict(lowest), random_cohort(rubric, rng)),
             Fill(full_marks_inputs(rubric, include_office=True), random_params(rubric, rng),
                  random_cohort(rubric, rng))]
    for clause in rubric.clauses:
        found = probes(clause)
        for inputs, params in rng.sample(found, min(per_clause, len(found))):
            base = random_fills(rubric, 1, f"{seed}:{clause.id}:{len(fills)}")[0]
            base.inputs.update(inputs)
            base.params.update(params)
            fills.append(base)
    return fills


# --- the workbook: one row per fill ----------------------------------------------------------

def computed(rubric: Rubric) -> list[tuple[str, Expr]]:
    """Every cell the workbook computes, in dependency order, by name (see rubric/totals.py)."""
    out = [(clause_name(c.id), c.expr) for c in rubric.clauses]
    out += [(f"i:{i.id}", indicator_expr(rubric, i)) for i in rubric.indicators]
    out += [(f"d:{d.id}", dimension_expr(rubric, d)) for d in rubric.dimensions]
    out += [(f"g:{g.id}", group_expr(rubric, g)) for g in rubric.groups]
    return out + [("total", total_expr(rubric)), ("grade", grade_expr(rubric, Ref("total")))]


def input_names(rubric: Rubric) -> list[str]:
    cohort = sorted({n for c in rubric.clauses for n in c.needs if n.startswith("cohort_")})
    return [f.id for f in rubric.fields] + [p.id for p in rubric.params] + cohort


def _cell_value(v):
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def write_workbook(rubric: Rubric, fills: list[Fill], path: Path) -> dict:
    """Save the workbook; returns name → column letter."""
    names = input_names(rubric) + [n for n, _ in computed(rubric)]
    col = {n: get_column_letter(k) for k, n in enumerate(names, 1)}
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(names)
    for row, fill in enumerate(fills, 2):
        values = {**fill.inputs, **fill.params, **fill.cohort}
        for name in input_names(rubric):
            if values.get(name) is not None:
                ws[f"{col[name]}{row}"] = _cell_value(values[name])
        for name, expr in computed(rubric):
            ws[f"{col[name]}{row}"] = "=" + to_excel(expr, lambda n, r=row: f"{col[n]}{r}")
    wb.save(path)
    return col


def engine_cells(rubric: Rubric, fill: Fill) -> dict:
    """The engine's value of every computed name for one fill."""
    s = score_unit(rubric, fill.inputs, fill.params, cohort=fill.cohort)
    out = {clause_name(k): v.points for k, v in s.clauses.items()}
    out.update({f"i:{k}": v.points for k, v in s.indicators.items()})
    out.update({f"d:{k}": v for k, v in s.dimensions.items()})
    out.update({f"g:{k}": v for k, v in s.groups.items()})
    return {**out, "total": s.total, "grade": s.grade}


def agrees(want, got, places: int) -> bool:
    """Exact agreement: text equal; numbers within 1e-9 and equal once rounded to `places`."""
    if isinstance(want, str):
        return got == want
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return abs(got - float(want)) < 1e-9 and Decimal(str(round(got, places))) == want


def disagreements(rubric: Rubric, fills: list[Fill], col: dict, value_at) -> list[str]:
    """Every (fill, name) where the workbook's value differs, with the inputs it read."""
    exprs = dict(computed(rubric))
    out = []
    for row, fill in enumerate(fills, 2):
        values = {**fill.inputs, **fill.params, **fill.cohort}
        for name, want in engine_cells(rubric, fill).items():
            got = value_at(f"{col[name]}{row}")
            if not agrees(want, got, rubric.places):
                read = {n: values.get(n) for n in sorted(refs(exprs[name])) if ":" not in n}
                out.append(f"row {row} {name}: engine {want!r}, workbook {got!r}; "
                           f"={to_excel(exprs[name], lambda n: n)} with {read}")
    return out


def _report(problems: list[str]) -> str:
    return f"{len(problems)} disagreements:\n" + "\n".join(problems[:25])


# --- the independent evaluator: the `formulas` package -----------------------------------------

def _scalar(v):
    if hasattr(v, "ranges"):
        v = v.value
    if isinstance(v, np.ndarray):
        v = v.ravel()[0]
    return v.item() if isinstance(v, np.generic) else v


def _on_row(formula: str, ranges: list, row: int) -> str:
    """A row-2 formula with its (same-row) references moved to `row`."""
    cols = "|".join(sorted({r["c1"] for r in ranges}, key=len, reverse=True))
    return re.sub(rf"(?<![A-Z])({cols})2(?![0-9])", rf"\g<1>{row}", formula) if cols else formula


def formulas_values(path: Path) -> dict:
    """Cell address → value for a fills workbook, computed by the `formulas` package.

    Every row holds the same formulas but for the row number, so each column's formula is
    compiled once (from row 2) and called for every row with that row's cells, passed as
    ExcelModel passes them (1×1 ranges, a blank cell as `empty`). ExcelModel compiles every
    cell anew (~4 ms each, minutes per rubric); test_compiled_columns_match_excel_model shows
    the two give identical values.
    """
    import schedula
    from formulas.cell import Cell
    from formulas.functions import replace_empty
    from formulas.ranges import Ranges
    ws = openpyxl.load_workbook(path)[SHEET]
    compiled = {}
    for c in ws[2]:
        if isinstance(c.value, str) and c.value.startswith("="):
            cell = Cell(c.coordinate, c.value).compile()
            ranges = [Ranges.get_range(ref) for ref in cell.inputs]
            assert all(r["r1"] == "2" for r in ranges), c.value   # every reference is same-row
            compiled[c.column_letter] = (cell.func, ranges, c.value)
    out = {}
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if c.column_letter in compiled:
                func, ranges, template = compiled[c.column_letter]
                assert c.value == _on_row(template, ranges, c.row), (c.coordinate, c.value)
                args = []
                for r in ranges:
                    v = out.get(f"{r['c1']}{c.row}", schedula.EMPTY)
                    args.append(Ranges().set_value(r, np.array([[v]], object)))
                out[c.coordinate] = _scalar(replace_empty(func(*args)))
            elif c.value is not None:
                out[c.coordinate] = round(c.value, 15) if isinstance(c.value, float) else c.value
    return out


def excel_model_values(path: Path) -> dict:
    """Cell address → value from the `formulas` package's own ExcelModel (slow, complete)."""
    import formulas
    solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    return {key.split("!")[-1]: _scalar(v) for key, v in solution.items()}


def _excel_round(x: float, digits) -> float:
    """ROUND as Excel and LibreOffice do it: half away from zero on the 15 significant digits
    Excel shows. `formulas` 1.3 rounds the binary value (201/200 is 1.00499999999999989…), so its
    ROUND(201/200,2) is 1.0 where Excel, LibreOffice and the engine say 1.01."""
    q = Decimal(1).scaleb(-int(digits))
    return float(Decimal(f"{x:.15g}").quantize(q, rounding=ROUND_HALF_UP))


@pytest.fixture
def excel_round(monkeypatch):
    """Give `formulas` Excel's ROUND (see _excel_round); compiled formulas bind it at compile."""
    import formulas.functions as fx
    monkeypatch.setitem(fx.get_functions(), "ROUND", fx.wrap_ufunc(_excel_round))


def _round_in_formulas(path: Path, text: str):
    wb = openpyxl.Workbook()
    wb.active.title = SHEET
    wb.active.append(["公式"])
    wb.active.append([text])
    wb.save(path)
    return formulas_values(path)["A2"]


TIES = ["ROUND(201/200,2)", "ROUND(0.7*3/4,2)", "ROUND(1.015,2)", "ROUND(469/200,2)",
        "ROUND(0.125,2)", "ROUND(-2.345,2)", "ROUND(1/1.6,2)"]


def test_formulas_round_is_fixed_to_excel(tmp_path, monkeypatch):
    """Why the excel_round fixture exists: unpatched, `formulas` parts from Excel on binary ties."""
    assert _round_in_formulas(tmp_path / "raw.xlsx", "=ROUND(201/200,2)") == 1.0
    import formulas.functions as fx
    monkeypatch.setitem(fx.get_functions(), "ROUND", fx.wrap_ufunc(_excel_round))
    for text in TIES:
        got = _round_in_formulas(tmp_path / "fixed.xlsx", "=" + text)
        assert Decimal(str(got)) == evaluate(parse(text), {}), text


@pytest.mark.parametrize("name", RUBRICS)
def test_formulas_agree_with_engine(name, tmp_path, excel_round):
    rubric = load(name, tmp_path)
    fills = random_fills(rubric, RANDOM_FILLS, f"{name}:random") + edge_fills(rubric, f"{name}:edge")
    path = tmp_path / "agreement.xlsx"
    col = write_workbook(rubric, fills, path)
    problems = disagreements(rubric, fills, col, formulas_values(path).get)
    assert not problems, _report(problems)


@pytest.mark.parametrize("name", RUBRICS)
def test_compiled_columns_match_excel_model(name, tmp_path, excel_round):
    """The per-column shortcut of formulas_values gives exactly ExcelModel's values."""
    rubric = load(name, tmp_path)
    fills = random_fills(rubric, 2, f"{name}:model") + edge_fills(rubric, f"{name}:model")[:2]
    path = tmp_path / "model.xlsx"
    col = write_workbook(rubric, fills, path)
    fast, full = formulas_values(path), excel_model_values(path)
    cells = [f"{col[n]}{r}" for n, _ in computed(rubric) for r in range(2, len(fills) + 2)]
    assert {a: fast[a] for a in cells} == {a: full[a] for a in cells}


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", ["mini", "probe-float"] + builtin_ids())
def test_libreoffice_agrees_with_engine(name, tmp_path):
    rubric = load(name, tmp_path)
    fills = (random_fills(rubric, LIBREOFFICE_FILLS, f"{name}:lo")
             + edge_fills(rubric, f"{name}:lo-edge", per_clause=10))
    src = tmp_path / "agreement.xlsx"
    col = write_workbook(rubric, fills, src)
    out = recalculate(src, tmp_path / "out", profile=tmp_path / "profile")
    ws = openpyxl.load_workbook(out, data_only=True)[SHEET]
    problems = disagreements(rubric, fills, col, lambda ref: ws[ref].value)
    assert not problems, _report(problems)


def test_a_wrong_formula_is_caught(tmp_path, excel_round):
    """The comparison can fail: when clause 1.1's formula adds 0.01, every row is reported."""
    rubric = load("mini", tmp_path)
    fills = random_fills(rubric, 5, "mini:self-test")
    path = tmp_path / "agreement.xlsx"
    col = write_workbook(rubric, fills, path)
    wb = openpyxl.load_workbook(path)
    for row in range(2, len(fills) + 2):
        wb[SHEET][f"{col['c:1.1']}{row}"].value += "+0.01"
    wb.save(path)
    problems = disagreements(rubric, fills, col, formulas_values(path).get)
    assert {p.split(" c:1.1:")[0] for p in problems if " c:1.1:" in p} == {
        f"row {r}" for r in range(2, len(fills) + 2)}


# --- the samples themselves ------------------------------------------------------------------

def _valid(f, v, ind) -> bool:
    if f.type == "flag":
        return v in ("是", "否")
    if f.type == "choice":
        return v in f.options
    if f.type == "date":
        return (ind.window_from or v) <= v <= (ind.window_to or v)
    if f.type == "text":
        return isinstance(v, str) and v != ""
    low, high = f.min or 0, f.max if f.max is not None else Decimal(500)
    whole = isinstance(v, int) if f.type == "count" else isinstance(v, Decimal)
    step = (f.step or Decimal("0.5")) if f.type == "judged" else Decimal("0.01")
    return whole and low <= v <= high and Decimal(v) % step == 0


@pytest.mark.parametrize("name", RUBRICS)
def test_random_samples_are_valid_and_repeatable(name, tmp_path):
    rubric = load(name, tmp_path)
    fills = random_fills(rubric, 50, "valid")
    assert fills == random_fills(rubric, 50, "valid") != random_fills(rubric, 50, "other")
    indicators = {i.id: i for i in rubric.indicators}
    values = [(f, fill.inputs[f.id]) for fill in fills for f in rubric.fields]
    assert 0.03 < sum(v is None for _, v in values) / len(values) < 0.2      # blank_rate 0.1
    assert not [(f.id, v) for f, v in values
                if v is not None and not _valid(f, v, indicators[f.indicator_id])]
    for fill in fills:
        for p in rubric.params:
            v, kind = Decimal(fill.params[p.id]), param_kind(p)
            grain = {"rank": 1, "count": 1, "average": Decimal("0.1")}.get(kind, Decimal("0.01"))
            assert v >= (p.min if p.min is not None else 0) and v % grain == 0, (p.id, v)
            assert kind != "rank" or 1 <= v <= 30, (p.id, v)


@pytest.mark.parametrize("name", ["mini"] + builtin_ids())
def test_full_marks_reach_every_clause_maximum(name, tmp_path):
    """Every clause the unit's inputs decide alone scores its maximum."""
    rubric = load(name, tmp_path)
    res = score_unit(rubric, full_marks_inputs(rubric, include_office=True))
    short = {c.id: res.clauses[c.id].points for c in rubric.clauses
             if not c.needs and res.clauses[c.id].points != c.max}
    assert not short
    assert full_marks_inputs(rubric).keys() == {f.id for f in rubric.unit_fields}
