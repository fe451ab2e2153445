#!/usr/bin/env python3
"""Reference figures for GetFollowUpEffect (SPEC §12.2), computed
independently of the service: the arms by the rules of
docs/decisions/follow-ups.md, written again here in plain Python over the
raw records, and the statistics by statsmodels (Wilson intervals,
Newcombe's hybrid score interval of a difference, the pooled two-proportion
z-test).

It writes the data set tests/api/follow_ups.rs loads
(follow_up_dataset.json: raises to HIGH, follow-ups, outcomes, the views
asked) and the figures each view must return (follow_up_expected.json),
which the test compares within 1e-6. Re-run after changing a rule:

    python3 tests/reference/follow_up_reference.py > tests/reference/follow_up_reference.out.txt

Produced with scipy 1.17.1, statsmodels 0.15.0 and numpy 2.4.6.
"""
import json
import os
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import scipy
import statsmodels
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUTCOME_DAYS = 90
# The test sets the model's risk_window_days to this before asking.
RISK_WINDOW_DAYS = 60
KINDS = ["DISLOYALTY", "REPURCHASE"]


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def generate():
    rng = random.Random(20261201)
    starts, follow_ups, outcomes = [], [], []
    seq = 0
    n_fu = n_out = 0

    def start(customer, at, holdout):
        nonlocal seq
        seq += 1
        starts.append({"customer_id": customer, "seq": seq, "started_at": iso(at), "holdout": holdout})

    def follow(customer, at, action="CALLBACK"):
        nonlocal n_fu
        n_fu += 1
        follow_ups.append({"id": f"fu-{n_fu:04d}", "customer_id": customer, "action": action,
                           "occurred_at": iso(at)})

    def outcome(customer, kind, occurred, at):
        nonlocal n_out
        n_out += 1
        outcomes.append({"id": f"out-{n_out:04d}", "customer_id": customer, "kind": kind,
                         "occurred": occurred, "observed_at": iso(at)})

    # Segment A (January-June 2025): a holdout of about a fifth; most of
    # the others followed up, some late, some before the raise.
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for i in range(400):
        c = f"a-{i:03d}"
        at = base + timedelta(seconds=rng.randrange(0, 180 * 86400))
        holdout = rng.random() < 0.2
        start(c, at, holdout)
        if rng.random() < 0.3:
            # A second raise later: only the first in a window counts.
            start(c, at + timedelta(days=rng.randrange(20, 120)), holdout)
        r = rng.random()
        fu_at = None
        if not holdout and r < 0.7:
            fu_at = at + timedelta(seconds=rng.randrange(0, 20 * 86400))
        elif not holdout and r < 0.8:
            fu_at = at + timedelta(days=rng.randrange(RISK_WINDOW_DAYS, RISK_WINDOW_DAYS + 40))
        elif r < 0.85:
            fu_at = at - timedelta(days=rng.randrange(1, 30))
        elif holdout and r < 0.9:
            fu_at = at + timedelta(days=3)  # contacted anyway: still the holdout
        if fu_at is not None:
            follow(c, fu_at, rng.choice(["CALLBACK", "EMAIL", "CREDIT", "OTHER"]))
            if rng.random() < 0.2:
                follow(c, fu_at + timedelta(days=rng.randrange(1, 10)), "EMAIL")
        followed = fu_at is not None and not holdout and fu_at >= at
        p_churn = 0.25 if followed else 0.45
        p_rebuy = 0.55 if followed else 0.4
        ref = fu_at if followed else at
        for kind, p in (("DISLOYALTY", p_churn), ("REPURCHASE", p_rebuy)):
            if rng.random() < 0.85:
                outcome(c, kind, rng.random() < p,
                        ref + timedelta(seconds=rng.randrange(-10 * 86400, 120 * 86400)))

    # Boundaries, each exact to the second.
    b = datetime(2025, 3, 1, tzinfo=timezone.utc)
    start("edge-fu-at-start", b, False)
    follow("edge-fu-at-start", b)
    outcome("edge-fu-at-start", "DISLOYALTY", True, b)  # at from: counts
    start("edge-fu-at-window-end", b, False)
    follow("edge-fu-at-window-end", b + timedelta(days=RISK_WINDOW_DAYS))  # excluded
    outcome("edge-fu-at-window-end", "DISLOYALTY", True, b + timedelta(days=OUTCOME_DAYS))  # excluded
    start("edge-outcome-last-second", b, True)
    outcome("edge-outcome-last-second", "DISLOYALTY", True,
            b + timedelta(days=OUTCOME_DAYS) - timedelta(seconds=1))
    start("edge-not-occurred", b, True)
    outcome("edge-not-occurred", "DISLOYALTY", False, b + timedelta(days=1))

    # Segment B (February-March 2026): no holdout at all (confounded).
    base = datetime(2026, 2, 1, tzinfo=timezone.utc)
    for i in range(120):
        c = f"b-{i:03d}"
        at = base + timedelta(seconds=rng.randrange(0, 60 * 86400))
        start(c, at, False)
        followed = rng.random() < 0.5
        if followed:
            follow(c, at + timedelta(hours=rng.randrange(1, 200)))
        if rng.random() < 0.9:
            outcome(c, "DISLOYALTY", rng.random() < (0.3 if followed else 0.5),
                    at + timedelta(days=rng.randrange(1, 80)))

    # Segment C (May 2026): held out only, nobody followed up.
    base = datetime(2026, 5, 1, tzinfo=timezone.utc)
    for i in range(7):
        c = f"c-{i:03d}"
        at = base + timedelta(days=i)
        start(c, at, True)
        outcome(c, "DISLOYALTY", i % 3 == 0, at + timedelta(days=5))

    views = [
        {"name": "all time, disloyalty, 95%", "start": None, "end": None,
         "outcome_kind": "DISLOYALTY", "confidence_level": 0.95},
        {"name": "all time, repurchase, 90%", "start": None, "end": None,
         "outcome_kind": "REPURCHASE", "confidence_level": 0.9},
        {"name": "segment A, disloyalty, 99%", "start": "2025-01-01T00:00:00Z",
         "end": "2025-07-01T00:00:00Z", "outcome_kind": "DISLOYALTY", "confidence_level": 0.99},
        {"name": "spring, disloyalty, 80%", "start": "2025-03-01T00:00:00Z",
         "end": "2025-05-01T00:00:00Z", "outcome_kind": "DISLOYALTY", "confidence_level": 0.8},
        {"name": "segment B: no holdout, confounded", "start": "2026-02-01T00:00:00Z",
         "end": "2026-04-01T00:00:00Z", "outcome_kind": "DISLOYALTY", "confidence_level": 0.95},
        {"name": "segment C: nobody followed up", "start": "2026-05-01T00:00:00Z",
         "end": "2026-06-01T00:00:00Z", "outcome_kind": "DISLOYALTY", "confidence_level": 0.95},
        {"name": "no raise at all", "start": "2024-01-01T00:00:00Z",
         "end": "2024-06-01T00:00:00Z", "outcome_kind": "DISLOYALTY", "confidence_level": 0.95},
    ]
    return {"risk_window_days": RISK_WINDOW_DAYS, "starts": starts, "follow_ups": follow_ups,
            "outcomes": outcomes, "views": views}


def arms(data, view):
    """The rules, written again: each customer by their first raise in the
    window (ties by seq); held out → holdout from the raise; else the first
    follow-up in [raise, raise + risk_window_days) → followed up from it;
    else not followed up from the raise. Occurred: an outcome of the kind
    with occurred = true observed in [from, from + 90 days)."""
    lo = parse(view["start"]) if view["start"] else None
    hi = parse(view["end"]) if view["end"] else None
    first = {}
    for s in data["starts"]:
        t = parse(s["started_at"])
        if (lo and t < lo) or (hi and t >= hi):
            continue
        key = (t, s["seq"])
        if s["customer_id"] not in first or key < first[s["customer_id"]][0]:
            first[s["customer_id"]] = (key, s)
    risk = timedelta(days=data["risk_window_days"])
    counts = {a: [0, 0] for a in ("followed_up", "holdout", "not_followed_up")}
    for c, ((t, _), s) in first.items():
        if s["holdout"]:
            arm, frm = "holdout", t
        else:
            fus = [parse(f["occurred_at"]) for f in data["follow_ups"] if f["customer_id"] == c]
            fus = [f for f in fus if t <= f < t + risk]
            arm, frm = ("followed_up", min(fus)) if fus else ("not_followed_up", t)
        hit = any(
            o["customer_id"] == c and o["kind"] == view["outcome_kind"] and o["occurred"]
            and frm <= parse(o["observed_at"]) < frm + timedelta(days=OUTCOME_DAYS)
            for o in data["outcomes"])
        counts[arm][0] += 1
        counts[arm][1] += int(hit)
    return counts


def arm_figures(n, x, level):
    if n == 0:
        return {"customers": 0, "occurred": 0, "rate": None, "rate_ci": None}
    lo, hi = proportion_confint(x, n, alpha=1 - level, method="wilson")
    return {"customers": n, "occurred": x, "rate": x / n, "rate_ci": [float(lo), float(hi)]}


def effect(counts, level):
    confounded = counts["holdout"][0] == 0
    f = counts["followed_up"]
    c = counts["not_followed_up"] if confounded else counts["holdout"]
    out = {"followed_up": arm_figures(f[0], f[1], level),
           "comparison": arm_figures(c[0], c[1], level),
           "confounded": confounded, "difference_points": None, "difference_ci": None,
           "p_value": None, "significant": False}
    if f[0] and c[0]:
        lo, hi = confint_proportions_2indep(f[1], f[0], c[1], c[0], method="newcomb",
                                            compare="diff", alpha=1 - level)
        pooled = (f[1] + c[1]) / (f[0] + c[0])
        if 0 < pooled < 1:
            _, p = proportions_ztest([f[1], c[1]], [f[0], c[0]], alternative="two-sided")
        else:
            p = 1.0  # no variance: no evidence of a difference
        out["difference_points"] = (f[1] / f[0] - c[1] / c[0]) * 100
        out["difference_ci"] = [float(lo) * 100, float(hi) * 100]
        out["p_value"] = float(p)
        out["significant"] = bool(lo > 0 or hi < 0)
    return out


def main():
    data = generate()
    expected = []
    for view in data["views"]:
        counts = arms(data, view)
        e = effect(counts, view["confidence_level"])
        expected.append({"name": view["name"], **e})
        print(view["name"], json.dumps(counts), json.dumps(e))
    with open(os.path.join(HERE, "follow_up_dataset.json"), "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    with open(os.path.join(HERE, "follow_up_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"scipy {scipy.__version__}, statsmodels {statsmodels.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
