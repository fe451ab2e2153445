#!/usr/bin/env python3
"""Reference values for GetChange and a trend's change_from_previous
(SPEC §10.4), from independent implementations: statsmodels (Newcombe's
hybrid score interval, the pooled two-proportion z-test, Benjamini–Hochberg),
scipy (Welch's t-test and its confidence interval) and numpy/scipy.stats.norm
arithmetic for the adjusted Wald of §10.1 and the gap variance sum.

The Rust unit tests in src/scoring/change/tests.rs read the JSON this script
prints (change_reference.out.json) and assert within 1e-9 (relative, at least
absolute for figures below 1). Re-run it after changing a formula:

    python3 tests/reference/change_reference.py > tests/reference/change_reference.out.json

It also writes the end-to-end data set of tests/api/change.rs
(change_dataset.json) and the figures GetChange must return for it
(change_expected.json); all three files are committed beside it.

Every case states baseline first, current second; differences are
current − baseline. Produced with scipy 1.17.1, statsmodels 0.15.0 and
numpy 2.4.6.
"""
import json
import os
import random

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportions_ztest,
)


def proportion(xb, nb, xc, nc, level):
    lo, hi = confint_proportions_2indep(
        xc, nc, xb, nb, method="newcomb", compare="diff", alpha=1 - level
    )
    if (xb + xc) in (0, nb + nc):
        p = 1.0  # pooled share 0 or 1: the service's convention (§5)
    else:
        p = float(proportions_ztest([xc, xb], [nc, nb])[1])
    return {
        "difference": (xc / nc - xb / nb) * 100,
        "lower": float(lo) * 100,
        "upper": float(hi) * 100,
        "p_value": p,
    }


def adjusted(f, u, n):
    n1 = n + 3.0
    p = (f + 0.75) / n1
    d = (u + 0.75) / n1
    return p - d, np.sqrt((p + d - (p - d) ** 2) / n1)


def net(fb, ub, nb, fc, uc, nc, level):
    z = stats.norm.ppf(0.5 + level / 2)
    net_b, se_b = adjusted(fb, ub, nb)
    net_c, se_c = adjusted(fc, uc, nc)
    diff = net_c - net_b
    se = np.hypot(se_b, se_c)
    return {
        "difference": ((fc - uc) / nc - (fb - ub) / nb) * 100,
        "lower": float(max(-200, (diff - z * se) * 100)),
        "upper": float(min(200, (diff + z * se) * 100)),
        "p_value": float(2 * stats.norm.sf(abs(diff) / se)),
    }


def welch(b, c, level):
    res = stats.ttest_ind(c, b, equal_var=False)
    ci = res.confidence_interval(level)
    return {
        "difference": float(np.mean(c) - np.mean(b)),
        "lower": float(ci.low),
        "upper": float(ci.high),
        "p_value": float(res.pvalue),
    }


def moments(values):
    return [len(values), float(np.sum(values)), float(np.sum(np.square(values)))]


def gap_of(x_from, n_from, x_to, n_to, level):
    lo, hi = confint_proportions_2indep(
        x_from, n_from, x_to, n_to, method="newcomb", compare="diff", alpha=1 - level
    )
    return (x_from / n_from - x_to / n_to) * 100, float(lo) * 100, float(hi) * 100


def gap(b, c, level):
    z = stats.norm.ppf(0.5 + level / 2)
    var = lambda lo, hi: ((hi - lo) / (2 * z)) ** 2
    diff = c[0] - b[0]
    se = np.sqrt(var(b[1], b[2]) + var(c[1], c[2]))
    return {
        "difference": diff,
        "lower": float(diff - z * se),
        "upper": float(diff + z * se),
        "p_value": float(2 * stats.norm.sf(abs(diff) / se)),
    }


HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261201)
out = {
    "versions": f"scipy {scipy.__version__}, statsmodels {statsmodels.__version__}, numpy {np.__version__}",
    "proportion": [],
    "net": [],
    "mean": [],
    "gap": [],
}
for xb, nb, xc, nc, level in [
    (40, 100, 55, 100, 0.95),
    (80, 100, 8, 100, 0.95),
    (0, 20, 0, 30, 0.95),
    (5, 5, 3, 10, 0.90),
    (12, 50, 20, 60, 0.99),
    (7, 7, 9, 9, 0.95),
]:
    out["proportion"].append(
        {"baseline": [xb, nb], "current": [xc, nc], "level": level,
         **proportion(xb, nb, xc, nc, level)}
    )
for b, c, level in [
    ((50, 20, 100), (60, 15, 100), 0.95),
    ((5, 3, 10), (1, 8, 12), 0.90),
    ((12, 0, 12), (0, 12, 12), 0.999),
    ((30, 30, 90), (45, 10, 70), 0.99),
]:
    out["net"].append(
        {"baseline": list(b), "current": list(c), "level": level, **net(*b, *c, level)}
    )
# CES-like integer scores and effort-index-like fractional values.
samples = [
    ([rng.randint(1, 7) for _ in range(40)], [rng.randint(2, 7) for _ in range(55)], 0.95),
    ([rng.randint(1, 5) for _ in range(6)], [rng.randint(3, 7) for _ in range(9)], 0.90),
    ([round(rng.uniform(0, 100), 2) for _ in range(30)],
     [round(rng.uniform(10, 90), 2) for _ in range(25)], 0.99),
    ([3, 3, 3, 3], [1, 4, 6, 7, 2], 0.95),
]
for b, c, level in samples:
    out["mean"].append(
        {"baseline": moments(b), "current": moments(c), "level": level, **welch(b, c, level)}
    )
for b, c, level in [
    ((80, 100, 8, 100), (60, 90, 30, 110), 0.95),
    ((10, 20, 9, 25), (15, 20, 4, 25), 0.90),
    ((5, 6, 3, 40), (30, 31, 2, 50), 0.99),
]:
    gb, gc = gap_of(*b, level), gap_of(*c, level)
    out["gap"].append(
        {"baseline": list(gb), "current": list(gc), "level": level, **gap(gb, gc, level)}
    )
# A monthly trend of a favorable share with empty buckets (None): each
# point against the previous point with data, then BH over the changes.
series = [(30, 60), None, (41, 70), (38, 66), None, None, (20, 50), (44, 61)]
changes = []
previous = None
for point in series:
    if point is None:
        changes.append(None)
        continue
    changes.append(proportion(*previous, *point, 0.95) if previous else None)
    previous = point
ps = [c["p_value"] for c in changes if c]
qs = iter(multipletests(ps, method="fdr_bh")[1])
for c in changes:
    if c:
        c["q_value"] = float(next(qs))
out["series"] = {"points": [list(p) if p else None for p in series], "level": 0.95,
                 "changes": changes}

# ---------------------------------------------------------------------------
# The end-to-end data set of tests/api/change.rs: March 2026 (baseline)
# against April 2026 (current). Written to change_dataset.json, the figures
# GetChange must return to change_expected.json.
from statsmodels.stats.proportion import proportion_confint

LEVEL = 0.95
data = {"level": LEVEL, "windows": {}}
windows = {
    "baseline": {"month": "2026-03", "customers": 12, "leaders": 6, "card_journeys": 3, "simple_journeys": 2},
    "current": {"month": "2026-04", "customers": 15, "leaders": 6, "card_journeys": 1, "simple_journeys": 5},
}
for name, w in windows.items():
    shift = 0 if name == "baseline" else 3
    customers = [
        {"ltr": rng.randint(shift, 10), "overall": rng.randint(1, 5), "ease": rng.randint(1 + shift // 3, 7)}
        for _ in range(w["customers"])
    ]
    leaders = [rng.randint(3, 5) for _ in range(w["leaders"])]
    data["windows"][name] = {**w, "customer_answers": customers, "leadership_overall": leaders}
# SPEC §1's card update journey has effort index 90 (HIGH); a one-touch web
# journey resolved in a minute has 0 (LOW).
CARD, SIMPLE = 90.0, 0.0


def figures(name):
    w = data["windows"][name]
    c = w["customer_answers"]
    n = len(c)
    fav = sum(a["overall"] >= 4 for a in c)
    ltr_f = sum(a["ltr"] >= 9 for a in c)
    ltr_u = sum(a["ltr"] <= 6 for a in c)
    lead = w["leadership_overall"]
    lead_f = sum(s >= 4 for s in lead)
    indexes = [CARD] * w["card_journeys"] + [SIMPLE] * w["simple_journeys"]
    return {
        "favorable": (fav, n),
        "net": (ltr_f, ltr_u, n),
        "gap": (lead_f, len(lead), fav, n),
        "ces": [a["ease"] for a in c],
        "effort": indexes,
        "high": (w["card_journeys"], len(indexes)),
    }


def wilson(x, n):
    lo, hi = proportion_confint(x, n, alpha=1 - LEVEL, method="wilson")
    return [float(lo), float(hi)]


fb, fc = figures("baseline"), figures("current")
expected = {}
expected["FAVORABLE_SHARE"] = {
    "windows": [
        {"sample_size": f["favorable"][1], "value": f["favorable"][0] / f["favorable"][1],
         "interval": wilson(*f["favorable"])} for f in (fb, fc)],
    **proportion(*fb["favorable"], *fc["favorable"], LEVEL),
}
expected["NET_SCORE"] = {
    "windows": [
        {"sample_size": f["net"][2], "value": (f["net"][0] - f["net"][1]) / f["net"][2] * 100,
         "interval": None} for f in (fb, fc)],
    **net(*fb["net"], *fc["net"], LEVEL),
}
gb, gc = gap_of(*fb["gap"], LEVEL), gap_of(*fc["gap"], LEVEL)
expected["GAP_POINTS"] = {
    "windows": [
        {"sample_size": f["gap"][1] + f["gap"][3], "value": g[0], "interval": [g[1], g[2]]}
        for f, g in ((fb, gb), (fc, gc))],
    **gap(gb, gc, LEVEL),
}
expected["CES_MEAN"] = {
    "windows": [{"sample_size": len(f["ces"]), "value": float(np.mean(f["ces"])), "interval": None}
                for f in (fb, fc)],
    **welch(fb["ces"], fc["ces"], LEVEL),
}
expected["EFFORT_INDEX_MEAN"] = {
    "windows": [{"sample_size": len(f["effort"]), "value": float(np.mean(f["effort"])), "interval": None}
                for f in (fb, fc)],
    **welch(fb["effort"], fc["effort"], LEVEL),
}
expected["HIGH_EFFORT_SHARE"] = {
    "windows": [{"sample_size": f["high"][1], "value": f["high"][0] / f["high"][1],
                 "interval": wilson(*f["high"])} for f in (fb, fc)],
    **proportion(*fb["high"], *fc["high"], LEVEL),
}
for e in expected.values():
    lo, hi = e["lower"], e["upper"]
    e["significant"] = bool(lo > 0 or hi < 0)
with open(os.path.join(HERE, "change_dataset.json"), "w") as fh:
    json.dump(data, fh, indent=1)
with open(os.path.join(HERE, "change_expected.json"), "w") as fh:
    json.dump(expected, fh, indent=1)
print(json.dumps(out, indent=1))
