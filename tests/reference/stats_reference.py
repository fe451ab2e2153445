#!/usr/bin/env python3
"""Reference values for src/scoring (gapscore), from independent implementations.

The Rust unit tests in src/scoring/*.rs assert against the numbers this script
prints (relative tolerance 1e-9). Re-run it after changing a formula:

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install scipy statsmodels
    /tmp/refenv/bin/python tests/reference/stats_reference.py

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
