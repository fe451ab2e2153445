#!/usr/bin/env python3
"""The figures of SPEC §16 for the demo tenant, from independent implementations.

What GetExpectationGap, GetCompetitiveGap and GetPriorityMap must answer for
`gapscore demo` (whole window, confidence 0.95, min_group_size 5), computed
from the demo's stored answers with scipy and statsmodels, so walkthrough
steps and end-to-end tests of the three reads can quote numbers that were
not produced by the code under test. Run it against a database that holds
the demo tenant:

    gapscore demo --database-url postgres://localhost:5432/gapscore_demo_ref
    python3 tests/reference/demo_frames.py postgres://localhost:5432/gapscore_demo_ref \
        > tests/reference/demo_frames.out.json

Its output is committed beside it (demo_frames.out.json). The demo is
deterministic (src/tools/demo), so the numbers change only when the demo
does. FDR q-values are left out: they depend on which tests a response
holds, which is the reads' own business.

Produced with scipy 1.17.1 and statsmodels 0.15.0.
"""
import json
import math
import subprocess
import sys
from collections import defaultdict

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

CONFIDENCE = 0.95
MIN_GROUP = 5
CUSTOMER, LEADERSHIP, STAFF = 3, 1, 2
EXPECTATION, IMPORTANCE, COMPETITOR = 2, 3, 4
OUTCOME_QUESTIONS = {"likelihood_to_recommend", "overall_experience", "csat"}


def rows(url, sql):
    out = subprocess.run(
        ["psql", url, "-At", "-F", "\t", "-c", sql], check=True, capture_output=True, text=True
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def tenant_rows(url, sql):
    return rows(url, sql.replace("$TENANT", "(SELECT tenant_id FROM tenants WHERE name = 'demo')"))


def paired_t(d):
    """Mean of the differences d, its paired t interval and two-sided p-value."""
    n = len(d)
    mean = float(np.mean(d))
    se = float(np.std(d, ddof=1)) / math.sqrt(n)
    t = stats.t.ppf((1 + CONFIDENCE) / 2, n - 1)
    p = float(stats.ttest_1samp(d, 0.0).pvalue)
    return mean, (mean - t * se, mean + t * se), p


def wilson(k, n):
    lo, hi = proportion_confint(k, n, alpha=1 - CONFIDENCE, method="wilson")
    return float(lo), float(hi)


def welch(x, y):
    """mean(x) - mean(y), Welch's t interval and two-sided p-value."""
    vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
    diff = float(np.mean(x) - np.mean(y))
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    t = stats.t.ppf((1 + CONFIDENCE) / 2, df)
    half = t * math.sqrt(vx + vy)
    p = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
    return diff, (diff - half, diff + half), p


def main(url):
    scales = {
        key: (int(lo), int(hi), int(fav))
        for key, lo, hi, fav in tenant_rows(
            url,
            "SELECT key, scale_min, scale_max, favorable_min FROM questions "
            "WHERE tenant_id = $TENANT AND kind = 1",
        )
    }
    span = lambda q: scales[q][1] - scales[q][0]

    # Pairs: a framed answer and the EXPERIENCE answer of the same response.
    paired = defaultdict(list)  # (question, frame, competitor) -> [(experience, framed)]
    for q, frame, competitor, experience, framed in tenant_rows(
        url,
        "SELECT f.question, f.frame, f.competitor, a.score, f.score FROM framed_answers f "
        "JOIN answers a USING (tenant_id, rid, question) "
        "WHERE f.tenant_id = $TENANT AND f.role = 3 ORDER BY f.rid",
    ):
        paired[(q, int(frame), competitor)].append((int(experience), int(framed)))
    # Every framed score by role.
    framed_by_role = defaultdict(list)  # (question, frame, role) -> [score]
    for q, frame, role, score in tenant_rows(
        url,
        "SELECT question, frame, role, score FROM framed_answers "
        "WHERE tenant_id = $TENANT AND frame IN (2, 3) ORDER BY rid",
    ):
        framed_by_role[(q, int(frame), int(role))].append(int(score))
    experience = defaultdict(list)  # question -> customers' EXPERIENCE scores
    for q, score in tenant_rows(
        url,
        "SELECT question, score FROM answers "
        "WHERE tenant_id = $TENANT AND role = 3 AND score IS NOT NULL ORDER BY rid",
    ):
        experience[q].append(int(score))

    out = {
        "produced_with": f"scipy {scipy.__version__}, statsmodels {statsmodels.__version__}",
        "confidence_level": CONFIDENCE,
    }

    # §16.2 GetExpectationGap.
    expectation = []
    for q in sorted({k[0] for k in paired if k[1] == EXPECTATION}):
        pairs = np.array(paired[(q, EXPECTATION, "")], dtype=float)
        d = (pairs[:, 0] - pairs[:, 1]) / span(q) * 100
        mean, ci, p = paired_t(d)
        # scipy's own paired test agrees with the one-sample test on d.
        assert abs(stats.ttest_rel(pairs[:, 0], pairs[:, 1]).pvalue - p) <= 1e-12 + 1e-9 * p
        shortfalls = int(np.sum(pairs[:, 0] < pairs[:, 1]))
        entry = {
            "question": q,
            "customers": {
                "respondents": len(pairs),
                "mean_expectation": float(pairs[:, 1].mean()),
                "mean_experience": float(pairs[:, 0].mean()),
                "mean_gap_points": mean,
                "mean_gap_points_ci": ci,
                "p_value": p,
                "shortfalls": shortfalls,
                "shortfall_share": shortfalls / len(pairs),
                "shortfall_share_ci": wilson(shortfalls, len(pairs)),
            },
            "beliefs": [],
        }
        customers = np.array(framed_by_role[(q, EXPECTATION, CUSTOMER)], dtype=float)
        for role, name in [(LEADERSHIP, "LEADERSHIP"), (STAFF, "STAFF")]:
            inside = np.array(framed_by_role[(q, EXPECTATION, role)], dtype=float)
            if len(inside) == 0:
                continue
            diff, ci, p = welch(inside / span(q) * 100, customers / span(q) * 100)
            entry["beliefs"].append(
                {
                    "role": name,
                    "respondents": len(inside),
                    "customer_respondents": len(customers),
                    "mean_expectation": float(inside.mean()),
                    "customer_mean_expectation": float(customers.mean()),
                    "gap_points": diff,
                    "gap_points_ci": ci,
                    "p_value": p,
                }
            )
        expectation.append(entry)
    out["GetExpectationGap"] = expectation

    # §16.3 GetCompetitiveGap.
    competitive = []
    for q, _, competitor in sorted(k for k in paired if k[1] == COMPETITOR):
        pairs = np.array(paired[(q, COMPETITOR, competitor)], dtype=float)
        d = (pairs[:, 0] - pairs[:, 1]) / span(q) * 100
        mean, ci, p = paired_t(d)
        wins = int(np.sum(pairs[:, 0] > pairs[:, 1]))
        losses = int(np.sum(pairs[:, 0] < pairs[:, 1]))
        competitive.append(
            {
                "question": q,
                "competitor": competitor,
                "respondents": len(pairs),
                "mean_us": float(pairs[:, 0].mean()),
                "mean_competitor": float(pairs[:, 1].mean()),
                "mean_lead_points": mean,
                "mean_lead_points_ci": ci,
                "p_value": p,
                "wins": wins,
                "losses": losses,
                "ties": len(pairs) - wins - losses,
                "win_share": wins / (wins + losses),
                "win_share_ci": wilson(wins, wins + losses),
                "sign_test_p_value": float(stats.binomtest(wins, wins + losses, 0.5).pvalue),
            }
        )
    out["GetCompetitiveGap"] = competitive

    # §16.4 GetPriorityMap with stated importance.
    placed = []
    for q in sorted(q for q in experience if q not in OUTCOME_QUESTIONS):
        lo, hi, fav = scales[q]
        scores = np.array(experience[q])
        favorable = int(np.sum(scores >= fav))
        importance = np.array(framed_by_role[(q, IMPORTANCE, CUSTOMER)], dtype=float)
        normalized = (importance - lo) / (hi - lo) * 100
        mean = float(normalized.mean())
        half = stats.t.ppf((1 + CONFIDENCE) / 2, len(normalized) - 1) * float(
            np.std(normalized, ddof=1)
        ) / math.sqrt(len(normalized))
        low, high = wilson(favorable, len(scores))
        placed.append(
            {
                "question": q,
                "respondents": len(scores),
                "importance_respondents": len(importance),
                "stated_importance": mean,
                "stated_importance_ci": (mean - half, mean + half),
                "performance": favorable / len(scores) * 100,
                "performance_ci": (low * 100, high * 100),
            }
        )
    importance_mean = float(np.mean([p["stated_importance"] for p in placed]))
    performance_mean = float(np.mean([p["performance"] for p in placed]))
    for p in placed:
        above_i = p["stated_importance"] > importance_mean
        above_p = p["performance"] > performance_mean
        p["quadrant"] = {
            (True, False): "CONCENTRATE_HERE",
            (True, True): "KEEP_UP_THE_GOOD_WORK",
            (False, False): "LOW_PRIORITY",
            (False, True): "POSSIBLE_OVERKILL",
        }[(above_i, above_p)]
    placed.sort(key=lambda p: (p["quadrant"] != "CONCENTRATE_HERE", -p["stated_importance"]))
    out["GetPriorityMap"] = {
        "importance_source": "STATED",
        "importance_mean": importance_mean,
        "performance_mean": performance_mean,
        "questions": placed,
    }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
