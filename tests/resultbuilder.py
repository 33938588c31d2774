"""A scored CampaignResult without going through import: for tests of the report stage.

A real campaign folder (init), random but valid inputs per unit from the rubric's sampler, the
real engine; `missing` units get no score, `late` ones are marked late, one unit carries issues.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from xlsx_workflow.campaign import init_campaign
from xlsx_workflow.engine import UnitInput, score_cohort
from xlsx_workflow.messages import Issue
from xlsx_workflow.results import (MISSING, SCORED, CampaignResult, ReviewRecord, UnitResult,
                                   ranked)
from xlsx_workflow.rubric.sample import random_inputs, random_params


def build_result(root, rubric_id: str = "ip-protection-2021", seed: int = 7, missing: int = 1,
                 late: int = 1) -> CampaignResult:
    camp = init_campaign(root, rubric_id)
    rng = random.Random(seed)
    units = camp.units
    present, absent = units[:len(units) - missing], units[len(units) - missing:]
    inputs = [UnitInput(u.code, u.name, u.type, random_inputs(camp.rubric, rng),
                        random_params(camp.rubric, rng)) for u in present]
    scores = {s.unit_code: s for s in score_cohort(camp.rubric, inputs)}
    start = datetime(camp.year + 1, 5, 10, 9, 30)
    results = []
    for k, u in enumerate(present):
        res = UnitResult(u, SCORED, scores[u.code], received_at=start + timedelta(hours=7 * k),
                         late=k < late, versions=1 + (k % 2))
        if k == 2:
            res.issues = [Issue("V001", "警告", "自评表!E12 填报值「3次」不是整数，按0计。请填写数字。",
                                "自评表!E12")]
        results.append(res)
    results += [UnitResult(u, MISSING) for u in absent]
    first = present[0].code
    clause = camp.rubric.clauses[0].id
    reviews = [ReviewRecord(first, clause, scores[first].clauses[clause].points,
                            scores[first].clauses[clause].points / 2, "材料不足以证明",
                            "张三", start + timedelta(days=3))]
    return CampaignResult(camp, ranked(results), reviews, start + timedelta(days=4))
