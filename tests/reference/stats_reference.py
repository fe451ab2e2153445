#!/usr/bin/env python3
"""Reference values for src/scoring (gapscore), from independent implementations.

The Rust unit tests in src/scoring/*.rs assert against the numbers this script
prints (relative tolerance 1e-9). Re-run it after changing a formula:

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install scipy statsmodels
    /tmp/refenv/bin/python tests/reference/stats_reference.py > tests/reference/stats_reference.out.txt

Its output is committed beside it (stats_reference.out.txt), so a reviewer
can diff the numbers without the Python setup; so are the loyalty data set
it writes and the figures it computes from it (loyalty_dataset.json,
loyalty_expected.json), which tests/api/loyalty.rs checks end to end.

Produced with scipy 1.17.1 and statsmodels 0.15.0.
"""
import math

import scipy
import numpy as np
import statsmodels
from scipy.stats import beta, norm
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

np.set_printoptions(legacy="1.25")  # print plain floats, not np.float64(...)
print(f"# scipy {scipy.__version__}, statsmodels {statsmodels.__version__}")

print("\n# z_for_confidence: norm.ppf((1 + level) / 2)")
for level in (0.95, 0.90, 0.99, 0.5):
    print(f"({level}, {norm.ppf((1 + level) / 2)!r}),")

print("\n# wilson_interval: proportion_confint(method='wilson')  (x, n, conf, (lo, hi))")
for x, n, c in [(80, 100, 0.95), (8, 100, 0.95), (0, 10, 0.95), (10, 10, 0.95),
                (1, 1, 0.95), (3, 7, 0.90), (3, 7, 0.99), (523, 1200, 0.95)]:
    lo, hi = proportion_confint(x, n, alpha=1 - c, method="wilson")
    print(f"({x}, {n}, {c}, ({lo!r}, {hi!r})),")

print("\n# newcombe_diff_interval: confint_proportions_2indep(compare='diff', method='newcomb')")
for x1, n1, x2, n2, c in [(80, 100, 8, 100, 0.95), (8, 100, 80, 100, 0.95),
                          (5, 5, 0, 7, 0.95), (0, 12, 0, 9, 0.95),
                          (30, 40, 45, 90, 0.90), (30, 40, 45, 90, 0.99)]:
    lo, hi = confint_proportions_2indep(x1, n1, x2, n2, compare="diff",
                                        method="newcomb", alpha=1 - c)
    print(f"({x1}, {n1}, {x2}, {n2}, {c}, ({lo!r}, {hi!r})),")

print("\n# pooled_z_test_p_value: proportions_ztest (pooled variance, two-sided)")
for x1, n1, x2, n2 in [(80, 100, 8, 100), (30, 40, 45, 90), (12, 20, 10, 20), (5, 5, 0, 7)]:
    _, p = proportions_ztest([x1, x2], [n1, n2], alternative="two-sided")
    print(f"({x1}, {n1}, {x2}, {n2}, {p!r}),")

print("\n# beta_*: scipy.stats.beta  (a, b, conf, mean, var, lo, hi)")
for a, b, c in [(40.5, 9.5, 0.95), (0.5, 49.5, 0.95), (10.25, 14.75, 0.90), (48.0, 2.0, 0.99),
                # loyalty posteriors: HIGH/NWOM prior 0.81×50 after 30 of 40 occurred
                (40.5 + 30, 9.5 + 10, 0.95),
                # MEDIUM/NWOM interpolated prior: mean 0.41, strength 25
                (0.41 * 25, 0.59 * 25, 0.95)]:
    d = beta(a, b)
    tail = (1 - c) / 2
    print(f"({a!r}, {b!r}, {c}, {d.mean()!r}, {d.var()!r}, {d.ppf(tail)!r}, {d.ppf(1 - tail)!r}),")

print("\n# beta_credible_interval past LARGE_SHAPE (1e6), where gapscore uses the normal")
print("# limit: the exact quantiles, scipy.stats.beta  (a, b, conf, lo, hi)")
for a, b, c in [(2e6, 3e6, 0.95), (1.5e6, 4e7, 0.99), (2.5e6, 10.0, 0.95)]:
    d = beta(a, b)
    tail = (1 - c) / 2
    print(f"({a!r}, {b!r}, {c}, {d.ppf(tail)!r}, {d.ppf(1 - tail)!r}),")

print("\n# cosine similarity")
a, b = [0.5, 0.25, 0.0], [0.1, 0.3, 0.6]
dot = sum(x * y for x, y in zip(a, b))
print(repr(dot / math.sqrt(sum(x * x for x in a)) / math.sqrt(sum(y * y for y in b))))

print("\n# loyalty_risk expected-share interval, NWOM, default priors, no outcomes,")
print("# tiers low=500, medium=300, high=1200 at 95%")
def prior(tier, kind):
    low = dict(nwom=0.01, disloyalty=0.09, repurchase=0.94, spend=0.88)
    high = dict(nwom=0.81, disloyalty=0.96, repurchase=0.04, spend=0.04)
    if tier == "low":
        return low[kind], 50.0
    if tier == "high":
        return high[kind], 50.0
    return (low[kind] + high[kind]) / 2, 25.0
counts = dict(low=500, medium=300, high=1200)
total = sum(counts.values())
z = norm.ppf(0.975)
for kind in ("nwom", "disloyalty", "repurchase", "spend"):
    mean = var = 0.0
    for tier, n in counts.items():
        m, s = prior(tier, kind)
        d = beta(m * s, (1 - m) * s)
        share = n / total
        mean += share * d.mean()
        var += share ** 2 * d.var()
    lo, hi = max(0.0, mean - z * math.sqrt(var)), min(1.0, mean + z * math.sqrt(var))
    print(f"{kind}: expected_share={mean!r} interval=({lo!r}, {hi!r}) customers={mean * total!r}")

# ---------------------------------------------------------------------------
# Loyalty risk from raw records (SPEC §6.1, §7.1-§7.4), independently of the
# Rust aggregation: a fixed data set of journeys (touchpoint by touchpoint),
# ease answers and outcomes is written to loyalty_dataset.json; the figures
# GetLoyaltyRisk must report for it over January 2026 at 95% go to
# loyalty_expected.json. tests/api/loyalty.rs submits the data set through
# the API and compares (1e-6).
import json
import os
import random
from datetime import datetime, timedelta, timezone

from statsmodels.stats.proportion import proportion_confint as _confint

HERE = os.path.dirname(os.path.abspath(__file__))
SELF_SERVICE = {"WEB", "MOBILE_APP", "IVR", "CHATBOT"}
PRIORS = {  # kind: (LOW mean, HIGH mean), SPEC §7.2
    "NEGATIVE_WORD_OF_MOUTH": (0.01, 0.81),
    "DISLOYALTY": (0.09, 0.96),
    "REPURCHASE": (0.94, 0.04),
    "SPEND_INCREASE": (0.88, 0.04),
}
KINDS = list(PRIORS)
TIERS = ["LOW", "MEDIUM", "HIGH"]
WINDOW = ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")


def parse(t):
    return datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_dataset(rng):
    def tp(channel, minutes, wait, outcome, transfers=0, repeated=False, customer=True):
        return dict(channel=channel, initiator="CUSTOMER" if customer else "COMPANY",
                    minutes=minutes, wait_minutes=wait, outcome=outcome,
                    transfers=transfers, repeated_information=repeated)

    def random_journey():
        shape = rng.randrange(5)
        if shape == 0:  # SPEC §1's card update
            return [tp("EMAIL", 0, 0, "UNSPECIFIED", customer=False)] * 3 + [
                tp("WEB", 20, 0, "UNRESOLVED"), tp("IVR", 10, 0, "UNRESOLVED"),
                tp("PHONE", 7, 8, "RESOLVED")]
        if shape == 1:
            return [tp("WEB", 3, 0, "RESOLVED")]
        touchpoints = []
        for _ in range(rng.randrange(1, 5)):
            touchpoints.append(tp(
                rng.choice(["WEB", "MOBILE_APP", "IVR", "CHATBOT", "PHONE", "LIVE_CHAT"]),
                rng.randrange(0, 25), rng.choice([0, 0, 2, 9]),
                rng.choice(["RESOLVED", "UNRESOLVED", "ABANDONED"]),
                transfers=rng.choice([0, 0, 0, 1, 2]), repeated=rng.random() < 0.2))
        return touchpoints

    start, span = parse("2025-12-10T00:00:00Z"), 75 * 24 * 60  # to late February
    minutes = rng.sample(range(span), 400)  # distinct instants: no ties
    when = lambda: stamp(start + timedelta(minutes=minutes.pop()))
    customers = [f"cust-{i:02}" for i in range(40)]
    journeys, ease, outcomes = [], [], []
    for c in customers:
        for k in range(rng.choice([0, 1, 1, 2])):
            journeys.append(dict(id=f"j-{c}-{k}", customer_id=c, start=when(),
                                 touchpoints=random_journey()))
        for k in range(rng.choice([0, 0, 1, 2])):
            ease.append(dict(id=f"r-{c}-{k}", customer_id=c, at=when(),
                             score=rng.randrange(1, 8)))
    o_start = parse("2026-01-05T00:00:00Z")
    for k in range(60):
        observed = o_start + timedelta(minutes=rng.randrange(100 * 24 * 60))
        outcomes.append(dict(id=f"o-{k:02}", customer_id=rng.choice(customers + ["nobody"]),
                             kind=rng.choice(KINDS), occurred=rng.random() < 0.6,
                             observed_at=stamp(observed)))
    return dict(window=list(WINDOW), journeys=journeys, ease=ease, outcomes=outcomes)


def effort_index(touchpoints):
    """SPEC §6.1 with the default weights."""
    mine = [t for t in touchpoints if t["initiator"] == "CUSTOMER"]
    points = 15 * max(0, len(mine) - 1)
    points += 10 * sum(a["channel"] != b["channel"] for a, b in zip(mine, mine[1:]))
    points += 10 * sum(t["channel"] in SELF_SERVICE and t["outcome"] != "RESOLVED" for t in mine)
    points += 10 * sum(t["transfers"] for t in mine)
    points += 10 * sum(t["repeated_information"] for t in mine)
    minutes = sum(t["minutes"] + t["wait_minutes"] for t in mine)
    points += min(30.0, max(0.0, minutes - 5) * 0.5)
    points += 0 if any(t["outcome"] == "RESOLVED" for t in mine) else 30
    return min(100.0, points)


def tier_of_index(x):
    return "HIGH" if x >= 50 else "LOW" if x < 20 else "MEDIUM"


def tier_of_ease(score):
    return "LOW" if score >= 5 else "HIGH" if score <= 3 else "MEDIUM"


def assess(data, customer, start, end):
    """SPEC §7.1 over [start, end): the latest ease answer, else the worst journey."""
    answers = [e for e in data["ease"] if e["customer_id"] == customer
               and start <= parse(e["at"]) < end]
    if answers:
        return tier_of_ease(max(answers, key=lambda e: (e["at"], e["id"]))["score"])
    journeys = [j for j in data["journeys"] if j["customer_id"] == customer
                and start <= parse(j["start"]) < end]
    if journeys:
        return tier_of_index(max(effort_index(j["touchpoints"]) for j in journeys))
    return None


def prior(tier, kind):
    low, high = PRIORS[kind]
    return {"LOW": (low, 50.0), "HIGH": (high, 50.0), "MEDIUM": ((low + high) / 2, 25.0)}[tier]


def loyalty_expected(data, level=0.95):
    start, end = (parse(t) for t in data["window"])
    customers = sorted({j["customer_id"] for j in data["journeys"]}
                       | {e["customer_id"] for e in data["ease"]})
    tiers = {c: assess(data, c, start, end) for c in customers}
    counts = {t: sum(v == t for v in tiers.values()) for t in TIERS}
    total = sum(counts.values())
    # §7.3: each outcome attributed to the tier of the 90 days before it.
    seen = {(t, k): [0, 0] for t in TIERS for k in KINDS}
    for o in data["outcomes"]:
        observed = parse(o["observed_at"])
        t = assess(data, o["customer_id"], observed - timedelta(days=90), observed)
        if t is not None:
            seen[t, o["kind"]][0] += 1
            seen[t, o["kind"]][1] += int(o["occurred"])
    z = norm.ppf((1 + level) / 2)
    tail = (1 - level) / 2
    outcomes = []
    for kind in KINDS:
        rates, mean, var = [], 0.0, 0.0
        for t in TIERS:
            m, s = prior(t, kind)
            n, k = seen[t, kind]
            d = beta(m * s + k, (1 - m) * s + n - k)
            share = counts[t] / total
            mean += share * d.mean()
            var += share ** 2 * d.var()
            rates.append(dict(tier=t, prior_mean=m, observed=n, occurrences=k,
                              posterior_mean=float(d.mean()),
                              posterior_ci=[float(d.ppf(tail)), float(d.ppf(1 - tail))]))
        outcomes.append(dict(kind=kind, expected_share=float(mean),
                             expected_share_ci=[max(0.0, float(mean - z * math.sqrt(var))),
                                                min(1.0, float(mean + z * math.sqrt(var)))],
                             expected_customers=float(mean * total), tier_rates=rates))
    lo, hi = _confint(counts["HIGH"], total, alpha=1 - level, method="wilson")
    nwom_high = outcomes[0]["tier_rates"][2]["posterior_mean"]
    return dict(confidence_level=level, customers=total, tiers=counts,
                high_share_ci=[float(lo), float(hi)], outcomes=outcomes,
                likely_detractors=counts["HIGH"] * nwom_high,
                customer_tiers={c: t for c, t in tiers.items() if t})


dataset = make_dataset(random.Random(20260101))
with open(os.path.join(HERE, "loyalty_dataset.json"), "w") as f:
    json.dump(dataset, f, indent=1)
    f.write("\n")
expected = loyalty_expected(dataset)
with open(os.path.join(HERE, "loyalty_expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
print("\n# loyalty from raw records (loyalty_dataset.json -> loyalty_expected.json)")
print(f"customers={expected['customers']} tiers={expected['tiers']} "
      f"high_share_ci={expected['high_share_ci']!r} likely_detractors={expected['likely_detractors']!r}")
for o in expected["outcomes"]:
    print(f"{o['kind']}: expected_share={o['expected_share']!r} interval={o['expected_share_ci']!r}")
