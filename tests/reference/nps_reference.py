#!/usr/bin/env python3
"""Reference figures for the perception gap's significance (SPEC §10.1, §10.2,
§10.3, §10.5), from independent implementations.

1. The adjusted-Wald interval of a net score and of the difference of two
   (SPEC §10.1; Rocks 2016, Lewis & Sauro at MeasuringU): plain numpy
   arithmetic of the formula with scipy's normal quantile and tail. The Rust
   unit tests in src/scoring/gap/net_score.rs assert against the tables this
   script prints (within 1e-9).
2. A deterministic data set of survey responses (significance_dataset.json)
   and every GetPerceptionGap response and GetScorecard choice of largest gaps
   the service must give for it (significance_expected.json), computed here
   from the raw answers: Wilson intervals by statsmodels proportion_confint,
   Newcombe intervals by confint_proportions_2indep(method='newcomb'), the
   pooled z-test by proportions_ztest, q-values by
   multipletests(method='fdr_bh'), net-score intervals by (1), and the
   suppression rules of §5 and §10.5 written out again below.
   tests/api/significance.rs submits the data set through gRPC and compares
   every field within 1e-6.

Re-run it after changing the data set or a formula:

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install scipy statsmodels
    /tmp/refenv/bin/python tests/reference/nps_reference.py \\
        > tests/reference/nps_reference.out.txt

Its output is committed beside it (nps_reference.out.txt), and so are the two
JSON files it writes.

Produced with scipy 1.17.1, statsmodels 0.15.0 and numpy 2.4.6.
"""
import json
import math
import os
import random

import numpy as np
import scipy
import statsmodels
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

np.set_printoptions(legacy="1.25")  # print plain floats, not np.float64(...)
HERE = os.path.dirname(os.path.abspath(__file__))
print(f"# scipy {scipy.__version__}, statsmodels {statsmodels.__version__}, numpy {np.__version__}")


# ------------------------------------------------------------ (1) adjusted Wald

def z_of(level):
    return float(norm.ppf((1 + level) / 2))


def adjusted(f, u, n):
    """(NPS', SE') of F favorable and U unfavorable of n, as fractions."""
    n_adj = n + 3.0
    p = (f + 0.75) / n_adj
    d = (u + 0.75) / n_adj
    return p - d, float(np.sqrt((p + d - (p - d) ** 2) / n_adj))


def net_interval(f, u, n, level):
    net, se = adjusted(f, u, n)
    z = z_of(level)
    return [float(np.clip(100 * (net - z * se), -100, 100)),
            float(np.clip(100 * (net + z * se), -100, 100))]


def net_difference(a, b, level):
    """Interval (points, clipped to [-200, 200]) and two-sided p-value of
    NPS'_a - NPS'_b; a and b are (F, U, n)."""
    (na, sa), (nb, sb) = adjusted(*a), adjusted(*b)
    diff, se = na - nb, float(np.sqrt(sa ** 2 + sb ** 2))
    z = z_of(level)
    ci = [float(np.clip(100 * (diff - z * se), -200, 200)),
          float(np.clip(100 * (diff + z * se), -200, 200))]
    return ci, float(2 * norm.sf(abs(diff) / se))


print("\n# AdjustedNet: (F, U, n, level, NPS', SE', lower, upper)")
for f, u, n, level in [(50, 20, 100, 0.95), (5, 3, 10, 0.95), (5, 3, 10, 0.90),
                       (0, 0, 0, 0.95),          # nobody
                       (12, 0, 12, 0.95),        # all promoters
                       (0, 12, 12, 0.95),        # all detractors
                       (1, 0, 1, 0.999),         # clipped at +100
                       (0, 7, 7, 0.999),         # clipped at -100
                       (120, 150, 400, 0.99), (523, 310, 1200, 0.5)]:
    net, se = adjusted(f, u, n)
    lo, hi = net_interval(f, u, n, level)
    print(f"({f}, {u}, {n}, {level}, {net!r}, {se!r}, {lo!r}, {hi!r}),")

print("\n# net_difference: (F1, U1, n1, F2, U2, n2, level, lower, upper, p)")
for a, b, level in [((50, 20, 100), (30, 40, 100), 0.95),
                    ((80, 5, 100), (8, 70, 100), 0.95),   # far tail
                    ((5, 3, 10), (5, 3, 10), 0.95),       # equal
                    ((12, 0, 12), (0, 12, 12), 0.95),     # extremes
                    ((1, 0, 1), (0, 1, 1), 0.999),        # clipped at +200
                    ((30, 10, 60), (20, 15, 45), 0.90)]:
    (lo, hi), p = net_difference(a, b, level)
    print(f"({a[0]}, {a[1]}, {a[2]}, {b[0]}, {b[1]}, {b[2]}, {level}, {lo!r}, {hi!r}, {p!r}),")


# ---------------------------------------------------------- (2) the data set

MIN_GROUP_SIZE = 5  # the scoring model's default
ROLES = ("LEADERSHIP", "STAFF", "CUSTOMER")
PAIRS = (("LEADERSHIP", "CUSTOMER"), ("STAFF", "CUSTOMER"), ("LEADERSHIP", "STAFF"))
# key: (scale_min, scale_max, favorable_min, unfavorable_max), SPEC §4.
SCALES = {
    "overall_experience": (1, 5, 4, 2),
    "likelihood_to_recommend": (0, 10, 9, 6),
    "speed": (1, 5, 4, 2),
    "convenience": (1, 5, 4, 2),
    "friendly_support": (1, 5, 4, 2),
    "knowledgeable_help": (1, 5, 4, 2),
    "csat": (1, 5, 4, 2),
    # A custom question without an unfavorable range (created by the test).
    "issue_resolved": (1, 5, 4, None),
}
CUSTOM = [dict(key="issue_resolved", scale_min=1, scale_max=5, favorable_min=4)]
FEBRUARY = ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")
MARCH = ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
OE, NPS, RES = "overall_experience", "likelihood_to_recommend", "issue_resolved"

# (name, labels, role, {question: {score: respondents}}), February.
FEBRUARY_SEGMENTS = [
    ("l-amer-silver", dict(region="amer", tier="silver"), "LEADERSHIP",
     {OE: {5: 4, 4: 3, 3: 1}, NPS: {10: 3, 9: 3, 8: 1, 6: 1}, RES: {5: 3, 4: 3, 3: 2}}),
    ("l-emea-silver", dict(region="emea", tier="silver"), "LEADERSHIP",
     {OE: {5: 3, 4: 3, 2: 1}, NPS: {9: 4, 8: 2, 5: 1}, RES: {4: 4, 3: 2, 2: 1}}),
    ("l-emea-gold", dict(region="emea", tier="gold"), "LEADERSHIP",
     {OE: {5: 2, 4: 1}, NPS: {10: 2, 7: 1}, RES: {5: 2, 4: 1}}),
    ("l-apac-silver", dict(region="apac", tier="silver"), "LEADERSHIP",
     {OE: {4: 4, 3: 2}, NPS: {9: 3, 8: 2, 4: 1}, RES: {4: 3, 3: 3}}),
    ("s-amer-silver", dict(region="amer", tier="silver"), "STAFF",
     {OE: {4: 2, 3: 1, 2: 1}, RES: {4: 2, 3: 2}}),
    ("s-amer-gold", dict(region="amer", tier="gold"), "STAFF",
     {OE: {5: 1, 4: 1, 3: 1}, RES: {4: 2, 2: 1}}),
    ("s-emea-gold", dict(region="emea", tier="gold"), "STAFF",
     {OE: {4: 4, 3: 2, 1: 1}, RES: {5: 2, 4: 3, 3: 2}}),
    ("s-emea-silver", dict(region="emea", tier="silver"), "STAFF",
     {OE: {4: 1, 2: 1}, RES: {4: 1, 3: 1}}),
    ("s-apac-silver", dict(region="apac", tier="silver"), "STAFF",
     {OE: {5: 1, 3: 1}, RES: {3: 2}}),
    ("c-amer-silver-web", dict(region="amer", tier="silver", channel="web"), "CUSTOMER",
     {OE: {5: 8, 4: 10, 3: 6, 2: 4, 1: 2},
      NPS: {10: 8, 9: 7, 8: 6, 7: 3, 6: 3, 3: 2, 0: 1},
      RES: {5: 10, 4: 8, 3: 6, 2: 4, 1: 2}}),
    ("c-amer-gold-web", dict(region="amer", tier="gold", channel="web"), "CUSTOMER",
     {OE: {5: 6, 4: 9, 3: 5, 2: 3, 1: 2},
      NPS: {10: 7, 9: 6, 8: 5, 7: 3, 5: 2, 2: 2},
      RES: {5: 9, 4: 7, 3: 5, 2: 3, 1: 1}}),
    ("c-amer-silver-phone", dict(region="amer", tier="silver", channel="phone"), "CUSTOMER",
     {OE: {4: 1, 2: 1}, NPS: {9: 1, 6: 1}, RES: {4: 1, 3: 1}}),
    # EMEA is really worse than the rest.
    ("c-emea-gold-web", dict(region="emea", tier="gold", channel="web"), "CUSTOMER",
     {OE: {5: 2, 4: 5, 3: 6, 2: 7, 1: 4},
      NPS: {10: 2, 9: 3, 8: 5, 7: 4, 6: 4, 4: 3, 1: 3},
      RES: {5: 3, 4: 5, 3: 7, 2: 6, 1: 3}}),
    ("c-emea-silver-web", dict(region="emea", tier="silver", channel="web"), "CUSTOMER",
     {OE: {5: 2, 4: 4, 3: 5, 2: 4, 1: 3},
      NPS: {10: 1, 9: 3, 8: 4, 7: 3, 6: 3, 3: 4},
      RES: {5: 2, 4: 4, 3: 5, 2: 5, 1: 2}}),
    ("c-emea-gold-chat", dict(region="emea", tier="gold", channel="chat"), "CUSTOMER",
     {OE: {5: 1, 3: 1}, NPS: {10: 1, 8: 1}, RES: {5: 1, 1: 1}}),
    # Only 3 APAC customers answer NPS: suppressed, and EMEA with it.
    ("c-apac-silver-web", dict(region="apac", tier="silver", channel="web"), "CUSTOMER",
     {OE: {5: 7, 4: 9, 3: 6, 2: 4, 1: 2}, NPS: {9: 2, 4: 1},
      RES: {5: 8, 4: 8, 3: 6, 2: 4, 1: 2}}),
    # Without a region: in the overall report, never in a region's rest.
    ("c-silver-web", dict(tier="silver", channel="web"), "CUSTOMER",
     {OE: {5: 3, 4: 3, 3: 2, 2: 1, 1: 1}, NPS: {10: 3, 9: 2, 8: 2, 6: 2, 2: 1},
      RES: {5: 3, 4: 3, 3: 2, 2: 2}}),
    ("c-unlabelled", {}, "CUSTOMER",
     {OE: {4: 3, 2: 3}, NPS: {9: 2, 7: 2, 5: 2}}),
]

# March: leaders rosier than customers on six questions, one gap huge, one
# large, one nominally significant that false discovery control drops.
MARCH_SEGMENTS = [
    ("m-leaders", {}, "LEADERSHIP",
     {OE: {5: 20, 4: 12, 3: 5, 2: 3},
      "speed": {5: 10, 4: 11, 3: 6, 2: 3},
      "convenience": {5: 7, 4: 8, 3: 9, 2: 6},
      "friendly_support": {5: 10, 4: 10, 3: 7, 1: 3},
      "knowledgeable_help": {5: 15, 4: 12, 3: 3},
      "csat": {5: 6, 4: 6, 3: 5, 2: 3}}),
    ("m-customers", {}, "CUSTOMER",
     {OE: {5: 4, 4: 8, 3: 20, 2: 16, 1: 12},
      "speed": {5: 8, 4: 10, 3: 12, 2: 6, 1: 4},
      "convenience": {5: 8, 4: 10, 3: 12, 2: 6, 1: 4},
      "friendly_support": {5: 12, 4: 14, 3: 8, 2: 4, 1: 2},
      "knowledgeable_help": {5: 8, 4: 12, 3: 15, 2: 10, 1: 5},
      "csat": {5: 14, 4: 15, 3: 12, 2: 6, 1: 3},
      NPS: {10: 10, 9: 10, 8: 10, 7: 10, 6: 10, 3: 10}}),
]


def make_responses(segments, window, rng, first_day):
    """One response per respondent of each segment; respondent i answers a
    question when i is below that question's count, its score drawn without
    replacement from the segment's list (shuffled)."""
    responses = []
    start_day = int(window[0][8:10])
    for name, labels, role, questions in segments:
        shuffled = {}
        for q, counts in questions.items():
            scores = [s for s, c in sorted(counts.items()) for _ in range(c)]
            rng.shuffle(scores)
            shuffled[q] = scores
        n = max(len(s) for s in shuffled.values())
        for i in range(n):
            answers = [dict(question=q, score=s[i]) for q, s in shuffled.items() if i < len(s)]
            day = start_day + first_day + (i * 5) % 26
            responses.append(dict(
                id=f"{name}-{i:02d}", role=role, respondent_id=f"{name}-{i:02d}",
                submitted_at=f"{window[0][:8]}{day:02d}T{(i * 7) % 24:02d}:{(i * 11) % 60:02d}:00Z",
                labels=labels, answers=answers))
    return responses


# ------------------------------------------------------- the expected figures

def wilson(k, n, level):
    lo, hi = proportion_confint(k, n, alpha=1 - level, method="wilson")
    return [float(lo), float(hi)]


def role_figures(role, scores, q, level):
    lo_, hi_, fav_min, unfav_max = SCALES[q]
    n = len(scores)
    out = dict(role=role, respondents=n, suppressed=n == 0 or n < MIN_GROUP_SIZE)
    if out["suppressed"]:
        return out
    f = sum(1 for s in scores if s >= fav_min)
    mean = float(np.mean(scores))
    out.update(favorable=f, favorable_share=f / n, favorable_share_ci=wilson(f, n, level))
    if unfav_max is None:
        out.update(net_score=100 * f / n, net_score_ci=[100 * x for x in wilson(f, n, level)])
    else:
        u = sum(1 for s in scores if s <= unfav_max)
        out.update(unfavorable=u, unfavorable_share=u / n, net_score=100 * (f - u) / n,
                   net_score_ci=net_interval(f, u, n, level))
    out.update(mean_score=mean, mean_normalized=(mean - lo_) / (hi_ - lo_) * 100)
    return out


def withheld(figures):
    """A role suppressed by complementary suppression: as if by size."""
    return dict(role=figures["role"], respondents=figures["respondents"], suppressed=True)


def z_test(f1, n1, f2, n2):
    pooled = (f1 + f2) / (n1 + n2)
    if pooled in (0, 1):
        return 1.0
    return float(proportions_ztest([f1, f2], [n1, n2], alternative="two-sided")[1])


def share_gap(a, b, level):
    """The §5 comparison of two shown figures' favorable shares."""
    lo, hi = confint_proportions_2indep(a["favorable"], a["respondents"], b["favorable"],
                                        b["respondents"], compare="diff", method="newcomb",
                                        alpha=1 - level)
    ci = [100 * float(lo), 100 * float(hi)]
    return dict(gap_points=100 * (a["favorable_share"] - b["favorable_share"]),
                gap_points_ci=ci,
                p_value=z_test(a["favorable"], a["respondents"], b["favorable"], b["respondents"]),
                significant=ci[0] > 0 or ci[1] < 0)


def comparison(a, b, level):
    out = dict(from_role=a["role"], to_role=b["role"])
    out.update(share_gap(a, b, level))
    out["mean_gap_points"] = a["mean_normalized"] - b["mean_normalized"]
    if a["favorable_share"] > 0:
        out["agreement_ratio"] = b["favorable_share"] / a["favorable_share"]
    if "unfavorable" in a:
        ci, p = net_difference((a["favorable"], a["unfavorable"], a["respondents"]),
                               (b["favorable"], b["unfavorable"], b["respondents"]), level)
        out.update(net_gap_points=a["net_score"] - b["net_score"], net_gap_points_ci=ci,
                   net_p_value=p)
    else:
        out.update(net_gap_points=out["gap_points"], net_gap_points_ci=out["gap_points_ci"],
                   net_p_value=out["p_value"])
    return out


def answers_of(rs, q, role):
    return [a["score"] for r in rs if r["role"] == role for a in r["answers"]
            if a["question"] == q]


def in_view(r, f):
    if "window" in f and not (f["window"][0] <= r["submitted_at"] < f["window"][1]):
        return False
    return all(r["labels"].get(k) == v for k, v in f.get("labels", {}).items())


def question_keys(rs, named):
    if named:
        return sorted(set(named))
    return sorted({a["question"] for r in rs for a in r["answers"]})


def finish_question(q, roles, level):
    shown = {r["role"]: r for r in roles if not r["suppressed"]}
    comparisons = [comparison(shown[a], shown[b], level) for a, b in PAIRS
                   if a in shown and b in shown]
    return dict(question=q, roles=roles, comparisons=comparisons)


def complementary(cells):
    """The index of the cell §10.5 suppresses as well, or None: exactly one
    cell suppressed with respondents, and the smallest shown one (the first
    on a tie) goes too."""
    hiding = [c for c in cells if c["suppressed"] and c["respondents"] > 0]
    shown = [(c["respondents"], i) for i, c in enumerate(cells) if not c["suppressed"]]
    if len(hiding) != 1 or not shown:
        return None
    return min(shown)[1]


def with_fdr(tests, level):
    if tests:
        q = multipletests([t["p_value"] for t in tests], method="fdr_bh")[1]
        for t, qv in zip(tests, q):
            t["q_value"] = float(qv)
            t["significant_after_fdr"] = bool(qv < 1 - level)


def perception_gap(data, view):
    req = view["request"]
    level = req.get("confidence_level", 0.95)
    named = req.get("questions", [])
    rs = [r for r in data["responses"] if in_view(r, req.get("filter", {}))]
    overall = dict(themes=[], questions=[
        finish_question(q, [role_figures(role, answers_of(rs, q, role), q, level)
                            for role in ROLES], level)
        for q in question_keys(rs, named)])
    groups = []
    key = req.get("group_by")
    if key:
        values = sorted({r["labels"][key] for r in rs if key in r["labels"]})
        members = {v: [r for r in rs if r["labels"].get(key) == v] for v in values}
        keys = {v: question_keys(members[v], named) for v in values}
        reports = {v: dict(themes=[], questions=[]) for v in values}
        for q in sorted({q for v in values for q in keys[v]}):
            cells = [v for v in values if q in keys[v]]
            roles = {v: [role_figures(role, answers_of(members[v], q, role), q, level)
                         for role in ROLES] for v in cells}
            for i, role in enumerate(ROLES):
                k = complementary([roles[v][i] for v in cells])
                if k is not None:
                    roles[cells[k]][i] = withheld(roles[cells[k]][i])
            for v in cells:
                gap = finish_question(q, roles[v], level)
                customers = roles[v][2]
                rest = role_figures("CUSTOMER", [s for w in cells if w != v
                                                 for s in answers_of(members[w], q, "CUSTOMER")],
                                    q, level)
                if not customers["suppressed"] and not rest["suppressed"]:
                    gap["vs_rest"] = dict(role="CUSTOMER", rest_respondents=rest["respondents"],
                                          **share_gap(customers, rest, level))
                reports[v]["questions"].append(gap)
        groups = [dict(label_value=v, report=reports[v]) for v in values]
    reports = [overall] + [g["report"] for g in groups]
    with_fdr([c for r in reports for q in r["questions"] for c in q["comparisons"]], level)
    with_fdr([q["vs_rest"] for g in groups for q in g["report"]["questions"] if "vs_rest" in q],
             level)
    return dict(confidence_level=level, min_group_size=MIN_GROUP_SIZE, overall=overall,
                groups=groups)


def largest_gaps(response):
    """GetScorecard's choice: significant and significant after FDR, the
    largest absolute gaps first, ties in question then comparison order."""
    candidates = [dict(question=q["question"], **c) for q in response["overall"]["questions"]
                  for c in q["comparisons"] if c["significant"] and c["significant_after_fdr"]]
    return sorted(candidates, key=lambda c: -abs(c["gap_points"]))[:3]


def make_dataset():
    rng = random.Random(20260310)
    responses = (make_responses(FEBRUARY_SEGMENTS, FEBRUARY, rng, 0)
                 + make_responses(MARCH_SEGMENTS, MARCH, rng, 0))
    feb = dict(window=list(FEBRUARY))
    views = [
        dict(name="february", request=dict(filter=feb)),
        dict(name="february_by_region", request=dict(filter=feb, group_by="region")),
        dict(name="february_by_tier_at_90",
             request=dict(filter=feb, group_by="tier", confidence_level=0.90)),
        dict(name="february_by_channel", request=dict(filter=feb, group_by="channel")),
        dict(name="february_silver_by_region_named_at_99",
             request=dict(filter=dict(window=list(FEBRUARY), labels=dict(tier="silver")),
                          group_by="region", confidence_level=0.99,
                          questions=[NPS, OE, "speed"])),
        dict(name="march", request=dict(filter=dict(window=list(MARCH)))),
    ]
    scorecards = [dict(name="february", view="february", filter=feb),
                  dict(name="march", view="march", filter=dict(window=list(MARCH)))]
    return dict(min_group_size=MIN_GROUP_SIZE, questions=CUSTOM, responses=responses,
                views=views, scorecards=scorecards)


def role(report, q, name):
    g = next(x for x in report["questions"] if x["question"] == q)
    return next(r for r in g["roles"] if r["role"] == name)


def group(response, value):
    return next(g["report"] for g in response["groups"] if g["label_value"] == value)


def check(views, cards):
    """What the data set is for, asserted so that a change to it cannot
    silently drop a case."""
    by_region = views["february_by_region"]
    # Staff: APAC (2) suppressed of three regions, AMER (7 < 9) with it.
    assert role(group(by_region, "apac"), OE, "STAFF")["respondents"] == 2
    amer_staff = role(group(by_region, "amer"), OE, "STAFF")
    assert amer_staff["suppressed"] and amer_staff["respondents"] == 7
    assert not role(group(by_region, "emea"), OE, "STAFF")["suppressed"]
    # NPS customers: APAC (3) suppressed, EMEA (44 < 57) with it, so no
    # vs_rest for either; AMER's rest is EMEA and APAC.
    emea_nps = next(q for q in group(by_region, "emea")["questions"] if q["question"] == NPS)
    assert emea_nps["roles"][2]["suppressed"] and "vs_rest" not in emea_nps
    amer_nps = next(q for q in group(by_region, "amer")["questions"] if q["question"] == NPS)
    assert amer_nps["vs_rest"]["rest_respondents"] == 44 + 3
    # EMEA is really worse than the rest on overall_experience.
    emea_oe = next(q for q in group(by_region, "emea")["questions"] if q["question"] == OE)
    assert emea_oe["vs_rest"]["gap_points"] < 0 and emea_oe["vs_rest"]["significant_after_fdr"]
    # Tier: gold leaders (3) suppressed of two tiers, silver (21) with them.
    by_tier = views["february_by_tier_at_90"]
    assert role(group(by_tier, "gold"), OE, "LEADERSHIP")["respondents"] == 3
    silver = role(group(by_tier, "silver"), OE, "LEADERSHIP")
    assert silver["suppressed"] and silver["respondents"] == 21
    # Channel: phone and chat (2 each) both suppressed, nothing with them,
    # and web has no vs_rest: its rest has 4 customers.
    by_channel = views["february_by_channel"]
    for q in group(by_channel, "web")["questions"]:
        assert not q["roles"][2]["suppressed"] and "vs_rest" not in q, q["question"]
    # Scorecard: a nominally significant gap dropped by FDR control.
    march = views["march"]["overall"]["questions"]
    dropped = [(q["question"], c) for q in march for c in q["comparisons"]
               if c["significant"] and c["p_value"] < 0.05 and not c["significant_after_fdr"]]
    assert dropped, "no nominally significant gap is dropped in March"
    # With room left in the list, only FDR control keeps them out of it.
    chosen = {g["question"] for g in cards["march"]["largest_gaps"]}
    assert len(chosen) < 3 and not chosen & {q for q, _ in dropped}


dataset = make_dataset()
views = {v["name"]: perception_gap(dataset, v) for v in dataset["views"]}
cards = {c["name"]: dict(largest_gaps=[dict(question=g["question"], from_role=g["from_role"],
                                            to_role=g["to_role"], gap_points=g["gap_points"])
                                       for g in largest_gaps(views[c["view"]])])
         for c in dataset["scorecards"]}
check(views, cards)
expected = dict(views=[dict(name=v["name"], response=views[v["name"]]) for v in dataset["views"]],
                scorecards=[dict(name=c["name"], **cards[c["name"]]) for c in dataset["scorecards"]])
for name, value in (("significance_dataset.json", dataset),
                    ("significance_expected.json", expected)):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")

print("\n# significance_expected.json, in brief")
for name, r in views.items():
    print(f"\n## {name} (level {r['confidence_level']})")
    for label, report in [("overall", r["overall"])] + [(g["label_value"], g["report"])
                                                        for g in r["groups"]]:
        for q in report["questions"]:
            shown = " ".join(f"{x['role'][0]}={x['respondents']}{'*' if x['suppressed'] else ''}"
                             for x in q["roles"])
            gaps = " ".join(f"{c['from_role'][0]}{c['to_role'][0]} {c['gap_points']:.2f} "
                            f"q={c['q_value']:.3g}" for c in q["comparisons"])
            rest = q.get("vs_rest")
            rest = f" vs_rest {rest['gap_points']:.2f} q={rest['q_value']:.3g}" if rest else ""
            print(f"{label:>8} {q['question']}: {shown}; {gaps}{rest}")
for name, c in cards.items():
    print(f"\n## scorecard {name}: " + ", ".join(
        f"{g['question']} {g['from_role']}->{g['to_role']} {g['gap_points']:.2f}"
        for g in c["largest_gaps"]))
