#!/usr/bin/env python3
"""Reference figures for GetExpectationGap and GetCompetitiveGap (SPEC §16.2, §16.3).

Writes a deterministic data set of survey responses with answers in the
EXPERIENCE, EXPECTATION and COMPETITOR frames (frames_dataset.json) and the
figures both RPCs must report for it (frames_expected.json), computed here from
the raw answers, independently of gapscore's SQL sums and Rust statistics:

- gap 5 and every competitor lead: scipy.stats.ttest_rel and its
  confidence_interval(), on the scores in normalized points;
- gap 1: scipy.stats.ttest_ind(equal_var=False) and its confidence_interval();
- win share: statsmodels proportion_confint(method='wilson') and the exact
  sign test scipy.stats.binomtest(wins, wins + losses, 0.5);
- shortfall share: proportion_confint(method='wilson');
- q-values: statsmodels multipletests(method='fdr_bh') over every test of one
  response that is not suppressed.

tests/api/expectation.rs and tests/api/competition.rs submit the data set
through gRPC and compare every field within 1e-6. Re-run after changing the
data set or a formula:

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install scipy statsmodels
    /tmp/refenv/bin/python tests/reference/frames_reference.py

Produced with scipy 1.17.1, statsmodels 0.15.0 and numpy 2.4.6.
"""
import json
import math
import os
import random
import warnings

import numpy as np
import scipy
import statsmodels
from scipy.stats import binomtest, ttest_ind, ttest_rel
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

HERE = os.path.dirname(os.path.abspath(__file__))
MIN_GROUP_SIZE = 5  # the scoring model's default
SCALES = {  # key: (scale_min, scale_max), SPEC §4
    "speed": (1, 5),
    "convenience": (1, 5),
    "friendly_support": (1, 5),
    "knowledgeable_help": (1, 5),
    "ease": (1, 7),
}
WINDOW = ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")


def clamp(x, q):
    lo, hi = SCALES[q]
    return max(lo, min(hi, x))


def make_dataset(rng):
    """Customers who expected more speed than they got, a competitor (acme)
    that beats us on convenience and loses on friendliness, a second
    competitor (globex) too rarely rated on friendliness to be shown,
    leaders who underestimate what customers expect of speed, staff too few
    on friendliness, no leadership expectation of ease, and answers that
    must not count: unpaired frames, inside roles' competitor ratings,
    January responses."""
    responses = []

    def answer(question, score, frame="EXPERIENCE", competitor=""):
        a = dict(question=question, frame=frame, score=clamp(score, question))
        if competitor:
            a["competitor"] = competitor
        return a

    def when(i, month=2):
        day = 1 + (i * 7) % 27
        return f"2026-{month:02d}-{day:02d}T{(i * 5) % 24:02d}:{(i * 13) % 60:02d}:00Z"

    for i in range(72):
        answers = []
        # speed: expected 4-5, got 2-5 (a shortfall); some expect without
        # rating the experience (no pair).
        expected_speed = rng.choice([4, 4, 5, 5, 5])
        if i % 11 != 3:
            answers.append(answer("speed", rng.choice([2, 3, 3, 4, 4, 5]),))
        if i % 8 != 0:
            answers.append(answer("speed", expected_speed, "EXPECTATION"))
        # convenience: about as expected; acme better.
        us = rng.choice([2, 3, 3, 4, 4, 5])
        answers.append(answer("convenience", us))
        if i % 3 != 2:
            answers.append(answer("convenience", us + rng.choice([-1, 0, 0, 1]), "EXPECTATION"))
        if i % 10 < 7:
            answers.append(answer("convenience", us + rng.choice([0, 1, 1, 2]), "COMPETITOR", "acme"))
        if i % 5 < 2:
            answers.append(answer("convenience", us + rng.choice([-1, 0, 1]), "COMPETITOR", "globex"))
        # friendly_support: we are friendlier than acme.
        friendly = rng.choice([3, 4, 4, 5, 5])
        answers.append(answer("friendly_support", friendly))
        if i % 4 != 1:
            answers.append(answer("friendly_support", rng.choice([3, 4, 4, 5]), "EXPECTATION"))
        if i % 10 < 6:
            answers.append(answer("friendly_support", friendly - rng.choice([0, 1, 1, 2]),
                                  "COMPETITOR", "acme"))
        if i in (5, 30, 61):
            answers.append(answer("friendly_support", friendly - 1, "COMPETITOR", "globex"))
        # speed against the competitors, for those who rated our speed.
        if i % 11 != 3 and i % 10 < 8:
            answers.append(answer("speed", rng.choice([2, 3, 4, 5]), "COMPETITOR", "acme"))
        # ease on 1-7: expected 5-7, got 3-7.
        if i % 6 != 4:
            answers.append(answer("ease", rng.choice([3, 4, 5, 6, 6, 7])))
            answers.append(answer("ease", rng.choice([5, 6, 6, 7]), "EXPECTATION"))
        # knowledgeable_help: experience and globex only, no expectations.
        answers.append(answer("knowledgeable_help", rng.choice([3, 4, 5])))
        if i % 3 == 0:
            answers.append(answer("knowledgeable_help", rng.choice([2, 3, 4, 5]),
                                  "COMPETITOR", "globex"))
        responses.append(dict(
            id=f"cust-{i:02d}", role="CUSTOMER", respondent_id=f"c{i:02d}",
            submitted_at=when(i, 1 if i % 24 == 23 else 2),
            survey_id="wave-1" if i < 40 else "wave-2",
            labels={"region": "emea" if i % 3 == 0 else "amer"},
            answers=answers))

    for i in range(12):
        answers = [
            answer("speed", rng.choice([3, 3, 4, 4]), "EXPECTATION"),
            answer("speed", rng.choice([4, 5])),
            answer("convenience", rng.choice([3, 4, 4, 5]), "EXPECTATION"),
            answer("friendly_support", rng.choice([4, 5, 5]), "EXPECTATION"),
            # An inside view of a competitor: never part of the competitive gap.
            answer("speed", rng.choice([1, 2]), "COMPETITOR", "acme"),
        ]
        responses.append(dict(
            id=f"lead-{i:02d}", role="LEADERSHIP", submitted_at=when(100 + i),
            survey_id="wave-1" if i < 6 else "wave-2",
            labels={"region": "emea" if i % 2 == 0 else "amer"}, answers=answers))

    for i in range(20):
        answers = [
            answer("speed", rng.choice([3, 4, 4, 5]), "EXPECTATION"),
            answer("convenience", rng.choice([3, 4, 5]), "EXPECTATION"),
            answer("ease", rng.choice([4, 5, 6, 7]), "EXPECTATION"),
            answer("ease", rng.choice([4, 5, 6])),
        ]
        if i < 3:
            answers.append(answer("friendly_support", rng.choice([3, 4, 5]), "EXPECTATION"))
        responses.append(dict(
            id=f"staff-{i:02d}", role="STAFF", submitted_at=when(200 + i),
            survey_id="wave-1" if i < 10 else "wave-2",
            labels={"region": "emea" if i % 2 == 1 else "amer"}, answers=answers))

    views = [
        dict(name="february", filter=dict(window=list(WINDOW)), confidence_level=0.95),
        dict(name="emea_at_90", filter=dict(window=list(WINDOW), labels={"region": "emea"}),
             confidence_level=0.90),
        dict(name="wave_2_acme", filter=dict(window=list(WINDOW), survey_id="wave-2"),
             confidence_level=0.99, competitor="acme"),
        dict(name="everything", filter={}, confidence_level=0.95),
    ]
    return dict(min_group_size=MIN_GROUP_SIZE, responses=responses, views=views)


def in_view(r, f):
    if "window" in f and not (f["window"][0] <= r["submitted_at"] < f["window"][1]):
        return False
    if any(r["labels"].get(k) != v for k, v in f.get("labels", {}).items()):
        return False
    return f.get("survey_id") in (None, r.get("survey_id"))


def score(r, question, frame, competitor=""):
    for a in r["answers"]:
        if (a["question"], a["frame"], a.get("competitor", "")) == (question, frame, competitor):
            return a["score"]
    return None


def points(x, question):
    lo, hi = SCALES[question]
    return np.asarray(x, dtype=float) * 100.0 / (hi - lo)


def threshold():
    return max(MIN_GROUP_SIZE, 2)


def paired(rs, question, frame, competitor, level):
    """(experience, framed) pairs of the customers in rs, and the paired t
    figures of experience - framed in points."""
    pairs = [(score(r, question, "EXPERIENCE"), score(r, question, frame, competitor))
             for r in rs if r["role"] == "CUSTOMER"]
    pairs = [(e, x) for e, x in pairs if e is not None and x is not None]
    n = len(pairs)
    out = dict(respondents=n, suppressed=n < threshold())
    if out["suppressed"]:
        return out, pairs
    e = np.array([p[0] for p in pairs], dtype=float)
    x = np.array([p[1] for p in pairs], dtype=float)
    res = ttest_rel(points(e, question), points(x, question))
    ci = res.confidence_interval(confidence_level=level)
    assert not math.isnan(res.pvalue), (question, competitor, "zero variance in the data set")
    out.update(mean_points=float(np.mean(points(e - x, question))),
               ci=[float(ci.low), float(ci.high)], p_value=float(res.pvalue),
               mean_experience=float(e.mean()), mean_framed=float(x.mean()))
    return out, pairs


def wilson(k, n, level):
    lo, hi = proportion_confint(k, n, alpha=1 - level, method="wilson")
    return [float(lo), float(hi)]


def with_fdr(tests, level):
    """Sets q_value and significant_after_fdr on every test dict (BH over
    all of them), and significant from each interval."""
    if tests:
        q = multipletests([t["p_value"] for t in tests], method="fdr_bh")[1]
        for t, qv in zip(tests, q):
            t["q_value"] = float(qv)
            t["significant_after_fdr"] = bool(qv < 1 - level)
    for t in tests:
        lo, hi = t["ci"]
        t["significant"] = bool(lo > 0 or hi < 0)


def expectation_gap(data, view):
    rs = [r for r in data["responses"] if in_view(r, view["filter"])]
    level = view["confidence_level"]
    with_expectation = sorted({a["question"] for r in rs for a in r["answers"]
                               if a["frame"] == "EXPECTATION"})
    questions, tests = [], []
    for q in with_expectation:
        gap, pairs = paired(rs, q, "EXPECTATION", "", level)
        customers = dict(respondents=gap["respondents"], suppressed=gap["suppressed"])
        if not gap["suppressed"]:
            shortfalls = sum(1 for e, x in pairs if e < x)
            customers.update(
                mean_expectation=gap["mean_framed"], mean_experience=gap["mean_experience"],
                mean_gap_points=gap["mean_points"], ci=gap["ci"], p_value=gap["p_value"],
                shortfalls=shortfalls, shortfall_share=shortfalls / len(pairs),
                shortfall_share_ci=wilson(shortfalls, len(pairs), level))
            tests.append(customers)
        expect = {role: [x for r in rs if r["role"] == role
                         for x in [score(r, q, "EXPECTATION")] if x is not None]
                  for role in ("LEADERSHIP", "STAFF", "CUSTOMER")}
        beliefs = []
        for role in ("LEADERSHIP", "STAFF"):
            a, c = expect[role], expect["CUSTOMER"]
            if not a:
                continue
            b = dict(role=role, respondents=len(a), customer_respondents=len(c),
                     suppressed=min(len(a), len(c)) < threshold())
            if not b["suppressed"]:
                with warnings.catch_warnings():
                    # One side without variance (wave-2's leaders all expect
                    # 4 of speed) is a defined Welch test; scipy warns of
                    # "nearly identical" data all the same.
                    warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
                    res = ttest_ind(points(a, q), points(c, q), equal_var=False)
                ci = res.confidence_interval(confidence_level=level)
                assert not math.isnan(res.pvalue), (q, role, "zero variances in the data set")
                b.update(mean_expectation=float(np.mean(a)),
                         customer_mean_expectation=float(np.mean(c)),
                         gap_points=float(np.mean(points(a, q)) - np.mean(points(c, q))),
                         ci=[float(ci.low), float(ci.high)], p_value=float(res.pvalue))
                tests.append(b)
            beliefs.append(b)
        questions.append(dict(question=q, customers=customers, beliefs=beliefs))
    with_fdr(tests, level)
    return dict(confidence_level=level, min_group_size=MIN_GROUP_SIZE, questions=questions)


def competitive_gap(data, view):
    rs = [r for r in data["responses"] if in_view(r, view["filter"])]
    level = view["confidence_level"]
    named = view.get("competitor")
    keys = sorted({(a["question"], a["competitor"]) for r in rs if r["role"] == "CUSTOMER"
                   for a in r["answers"] if a["frame"] == "COMPETITOR"
                   and named in (None, a["competitor"])
                   and score(r, a["question"], "EXPERIENCE") is not None})
    gaps, tests = [], []
    for q, comp in keys:
        lead, pairs = paired(rs, q, "COMPETITOR", comp, level)
        g = dict(question=q, competitor=comp, respondents=lead["respondents"],
                 suppressed=lead["suppressed"])
        if not g["suppressed"]:
            wins = sum(1 for e, x in pairs if e > x)
            losses = sum(1 for e, x in pairs if e < x)
            g.update(mean_us=lead["mean_experience"], mean_competitor=lead["mean_framed"],
                     mean_lead_points=lead["mean_points"], ci=lead["ci"],
                     p_value=lead["p_value"], wins=wins, losses=losses,
                     ties=len(pairs) - wins - losses,
                     sign_test_p_value=float(binomtest(wins, wins + losses, 0.5).pvalue)
                     if wins + losses else 1.0)
            if wins + losses:
                g.update(win_share=wins / (wins + losses),
                         win_share_ci=wilson(wins, wins + losses, level))
            tests.append(g)
        gaps.append(g)
    with_fdr(tests, level)
    return dict(confidence_level=level, min_group_size=MIN_GROUP_SIZE, gaps=gaps)


print(f"# scipy {scipy.__version__}, statsmodels {statsmodels.__version__}, numpy {np.__version__}")
dataset = make_dataset(random.Random(20260216))
expected = dict(views=[dict(name=v["name"], expectation=expectation_gap(dataset, v),
                            competition=competitive_gap(dataset, v))
                       for v in dataset["views"]])
for name, value in (("frames_dataset.json", dataset), ("frames_expected.json", expected)):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")
for v in expected["views"]:
    print(f"\n## {v['name']}")
    for q in v["expectation"]["questions"]:
        c = q["customers"]
        print(f"{q['question']}: gap 5 n={c['respondents']} "
              f"{'suppressed' if c['suppressed'] else c['mean_gap_points']!r}; gap 1 "
              + ", ".join(f"{b['role']} {'suppressed' if b['suppressed'] else b['gap_points']!r}"
                          for b in q["beliefs"]))
    for g in v["competition"]["gaps"]:
        print(f"{g['question']} vs {g['competitor']}: n={g['respondents']} "
              f"{'suppressed' if g['suppressed'] else g['mean_lead_points']!r}")
