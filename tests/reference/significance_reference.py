#!/usr/bin/env python3
"""Reference values for the significance tests of src/scoring (gapscore), from
independent implementations: scipy, statsmodels and numpy.

Covers SPEC §10.2 (Benjamini–Hochberg), §11 (Johnson's relative weights) and
§16 (paired and Welch t, the exact sign test). The Rust unit tests in
src/scoring/stats/*.rs and src/scoring/drivers/tests.rs assert against the
numbers this script prints (relative tolerance 1e-9 unless a test says
otherwise). Re-run it after changing a formula:

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install scipy statsmodels mpmath
    /tmp/refenv/bin/python tests/reference/significance_reference.py \
        > tests/reference/significance_reference.out.txt

Its output is committed beside it (significance_reference.out.txt), and so is
the key-driver data set it writes (drivers_dataset.json) with the figures
numpy computes from it (drivers_expected.json).

Produced with scipy 1.17.1, statsmodels 0.15.0, numpy 2.4.6 and mpmath 1.3.0.
"""
import json
import os
import random
import re

import mpmath
import numpy as np
import scipy
import statsmodels
from scipy import special, stats
from statsmodels.stats.multitest import multipletests

np.set_printoptions(legacy="1.25")  # print plain floats, not np.float64(...)
HERE = os.path.dirname(os.path.abspath(__file__))
LEVELS = (0.90, 0.95, 0.99)
print(f"# scipy {scipy.__version__}, statsmodels {statsmodels.__version__}, "
      f"numpy {np.__version__}, mpmath {mpmath.__version__}")


def r(x):
    """Shortest repr that round-trips, as a plain Python float."""
    return repr(float(x))


def rust_list(values):
    return "[" + ", ".join(r(v) if isinstance(v, float) else str(v) for v in values) + "]"


# ---------------------------------------------------------------------------
print("\n# t_for_confidence: stats.t.ppf((1 + level) / 2, df)  (df, level, t)")
for df in (1.0, 1.0001, 2.0, 3.7, 9.0, 29.0, 99.0, 250.0, 999.0, 1000.0, 4321.5, 1e5, 1e6, 1e9):
    for level in (0.5, 0.9, 0.95, 0.99, 0.999):
        print(f"({r(df)}, {level}, {r(stats.t.ppf((1 + level) / 2, df))}),")

print("\n# t_two_sided_p_value: 2 * stats.t.sf(|t|, df)  (t, df, p)")
for df in (1.0, 2.5, 9.0, 99.0, 1e4, 1e7, 1e12, 1e30):
    for t in (0.0, 0.3, 1.7, 2.0, 5.0, 40.0):
        print(f"({r(t)}, {r(df)}, {r(2 * stats.t.sf(t, df))}),")

print("\n# stirling_error: mpmath, loggamma(z) - (z - 1/2) ln z + z - ln(2 pi)/2 at 40 digits  (z, delta)")
mpmath.mp.dps = 40
for z in (0.5, 1.0, 2.5, 5.0, 9.999, 10.0, 15.0, 1000.0, 1e7):
    zm = mpmath.mpf(z)
    delta = mpmath.loggamma(zm) - (zm - mpmath.mpf(1) / 2) * mpmath.log(zm) + zm - mpmath.log(2 * mpmath.pi) / 2
    print(f"({r(z)}, {r(delta)}),")

print("\n# regularized_incomplete_beta: special.betainc(a, b, x)  (a, b, x, I)")
for a, b in [(0.5, 0.5), (1.0, 1.0), (2.5, 0.5), (0.5, 40.0), (10.0, 3.0), (100.0, 120.0),
             (5e3, 0.5), (4801.0, 5200.0), (1e6, 1e6 + 3.0), (3e7, 0.5)]:
    mean = a / (a + b)
    for x in sorted({1e-3, 0.1, 0.5, mean, 0.9, 0.999}):
        print(f"({r(a)}, {r(b)}, {r(x)}, {r(special.betainc(a, b, x))}),")


# ---------------------------------------------------------------------------
# Paired t (gap 5: experience − expectation of the same customers; the
# competitive lead: us − competitor). Rust holds the same data and builds
# n, Σd, Σd² from it.
def paired_case(name, expectation, experience):
    expectation, experience = np.asarray(expectation, float), np.asarray(experience, float)
    d = experience - expectation
    res = stats.ttest_rel(experience, expectation)
    n = len(d)
    print(f"\n# paired {name}: n={n} sum={r(d.sum())} sum_sq={r((d * d).sum())}")
    print(f"expectation = {rust_list([int(v) for v in expectation])}")
    print(f"experience = {rust_list([int(v) for v in experience])}")
    sem = stats.sem(d)
    print(f"mean={r(d.mean())} standard_error={r(sem)} df={n - 1} "
          f"t={r(res.statistic)} p_value={r(res.pvalue)}")
    for level in LEVELS:
        lo, hi = stats.t.interval(level, n - 1, loc=d.mean(), scale=sem)
        ci = res.confidence_interval(level)
        assert np.isclose(ci.low, lo, rtol=1e-12) and np.isclose(ci.high, hi, rtol=1e-12)
        print(f"({level}, ({r(lo)}, {r(hi)})),")


paired_case("seven_point",
            [6, 7, 5, 6, 7, 6, 5, 7, 6, 6, 7, 4],
            [5, 6, 5, 4, 7, 5, 3, 6, 6, 4, 5, 4])
rng = random.Random(20260116)
expect30 = [rng.randrange(4, 11) for _ in range(30)]
paired_case("eleven_point", expect30,
            [max(0, min(10, e + rng.choice([-3, -2, -1, -1, 0, 0, 0, 1, 2]))) for e in expect30])
paired_case("two_pairs", [3, 5], [4, 7])
paired_case("mean_zero", [5, 5, 5, 5, 5], [4, 6, 5, 3, 7])


def paired_from_sums(name, d):
    """Large n: only the sums go to Rust."""
    d = np.asarray(d, dtype=np.int64)
    n = len(d)
    res = stats.ttest_1samp(d.astype(float), 0.0)
    sem = stats.sem(d.astype(float))
    print(f"\n# paired {name} (from sums): n={n} sum={int(d.sum())} sum_sq={int((d * d).sum())}")
    print(f"mean={r(d.mean())} standard_error={r(sem)} df={n - 1} "
          f"t={r(res.statistic)} p_value={r(res.pvalue)}")
    for level in LEVELS:
        lo, hi = stats.t.interval(level, n - 1, loc=d.mean(), scale=sem)
        print(f"({level}, ({r(lo)}, {r(hi)})),")


gen = np.random.default_rng(20260116)
N = 2_000_000  # two 0–10 ratings, experience slightly ahead of expectation
paired_from_sums("two_million", gen.integers(0, 11, size=N) - gen.integers(0, 11, size=N)
                 + (gen.random(N) < 0.005))
paired_from_sums("near_constant", np.r_[np.full(999_999, 7), [6]])


# ---------------------------------------------------------------------------
# Welch (gap 1: leadership's belief about what customers expect against what
# customers expect; GetChange's means).
def welch_case(name, a, b, show_data=True):
    a, b = np.asarray(a, float), np.asarray(b, float)
    res = stats.ttest_ind(a, b, equal_var=False)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    assert np.isclose(df, res.df, rtol=1e-12)
    print(f"\n# welch {name}: n_a={len(a)} sum_a={r(a.sum())} sum_sq_a={r((a * a).sum())} "
          f"n_b={len(b)} sum_b={r(b.sum())} sum_sq_b={r((b * b).sum())}")
    if show_data:
        print(f"a = {rust_list(list(a))}")
        print(f"b = {rust_list(list(b))}")
    print(f"difference={r(a.mean() - b.mean())} standard_error={r(np.sqrt(va + vb))} "
          f"df={r(res.df)} t={r(res.statistic)} p_value={r(res.pvalue)}")
    for level in LEVELS:
        ci = res.confidence_interval(level)
        print(f"({level}, ({r(ci.low)}, {r(ci.high)})),")


welch_case("leaders_vs_customers",
           [6, 7, 7, 6, 7, 7, 6, 7, 5, 7, 6, 7, 7, 6, 7],
           [5, 6, 4, 7, 5, 6, 6, 3, 5, 7, 6, 5, 4, 6, 5, 7, 6, 5, 2, 6,
            5, 6, 7, 4, 5, 6, 5, 6, 3, 6, 5, 7, 6, 4, 5, 6, 6, 5, 7, 4])
welch_case("two_and_three", [3, 9], [4, 5, 7])
welch_case("one_side_constant", [5, 5, 5, 5], [2, 4, 6, 3, 5, 7, 4])
welch_case("effort_halves",  # effort indices move in half points (SPEC §6.1)
           list(gen.integers(0, 201, size=200_000) / 2),
           list(np.minimum(200, gen.integers(0, 201, size=1_500_000)
                           + (gen.random(1_500_000) < 0.2)) / 2),
           show_data=False)


# ---------------------------------------------------------------------------
print("\n# sign_test_p_value: binomtest(wins, wins + losses, 0.5).pvalue  (wins, losses, p)")
for w, l in [(30, 70), (70, 30), (5200, 4800), (4800, 5200), (0, 10), (10, 0), (1, 20),
             (0, 1), (3, 3), (7, 8), (0, 1000), (1, 1000), (500_000, 502_000),
             (5_000_000, 5_003_000), (49_990_000, 50_010_000)]:
    print(f"({w}, {l}, {r(stats.binomtest(w, w + l, 0.5).pvalue)}),")


# ---------------------------------------------------------------------------
print("\n# benjamini_hochberg: multipletests(p, method='fdr_bh')[1]  (p, q)")
for p in [
    [0.01, 0.04, 0.03, 0.04, 0.2, 0.001, 0.5, 1.0, 0.04],
    [0.5],
    [0.03, 0.03, 0.03],
    [0.0, 1.0, 0.0, 0.2],
    [0.9, 0.8, 0.7, 0.6, 0.5],
    [1e-12, 0.049, 0.051, 0.0001, 0.3, 0.049, 0.7, 0.002, 0.011, 0.0125],
]:
    q = multipletests(p, method="fdr_bh")[1]
    print(f"({rust_list([float(v) for v in p])}, {rust_list([float(v) for v in q])}),")


# ---------------------------------------------------------------------------
# Johnson's relative weights (SPEC §11). A data set of 40 customers rating four
# drivers and the outcome on 0–10 goes to drivers_dataset.json, in three
# scenarios: as drawn; with a fifth driver perfectly collinear with the first
# (10 − speed: the same question asked the other way round); with a fifth
# driver every customer rated 7. numpy computes the weights (eigh, the
# symmetric square root, a pseudo-inverse for zero eigenvalues) and, as an
# independent check that the raw weights sum to R², an OLS fit on the
# standardized raw data (lstsq).
DRIVERS = ["speed", "friendliness", "convenience", "price"]


def make_cases(rng):
    cases = []
    for _ in range(40):
        q = rng.gauss(0, 1)
        x = [max(0, min(10, round(6 + s * q + rng.gauss(0, n))))
             for s, n in [(1.8, 1.2), (1.0, 1.6), (1.4, 1.0), (0.4, 2.0)]]
        y = max(0, min(10, round(0.45 * x[0] + 0.15 * x[1] + 0.3 * x[2] + 0.05 * x[3]
                                 + rng.gauss(0, 1.1))))
        cases.append(x + [y])
    return cases


EIGEN_TOLERANCE = 1e-10  # eigenvalues below this × the largest are taken as 0


def johnson(cases):
    data = np.asarray(cases, dtype=float)
    X, y = data[:, :-1], data[:, -1]
    k = X.shape[1]
    keep = [j for j in range(k) if X[:, j].std() > 0]
    C = np.corrcoef(data[:, keep + [k]], rowvar=False)
    R, rxy = C[:-1, :-1], C[:-1, -1]
    lam, V = np.linalg.eigh(R)
    usable = lam > EIGEN_TOLERANCE * lam.max()
    root = V @ np.diag(np.sqrt(np.where(usable, lam, 0.0))) @ V.T
    inverse_root = V @ np.diag(np.where(usable, 1 / np.sqrt(np.where(usable, lam, 1.0)), 0.0)) @ V.T
    beta = inverse_root @ rxy
    raw_kept = (root ** 2) @ (beta ** 2)
    raw = np.zeros(k)
    raw[keep] = raw_kept
    # Independent: OLS of the standardized outcome on the standardized drivers.
    Z = (X[:, keep] - X[:, keep].mean(0)) / X[:, keep].std(0, ddof=1)
    zy = (y - y.mean()) / y.std(ddof=1)
    coef, *_ = np.linalg.lstsq(Z, zy, rcond=None)
    resid = zy - Z @ coef
    r_squared_ols = 1 - resid @ resid / (zy @ zy)
    assert np.isclose(raw.sum(), r_squared_ols, rtol=1e-12, atol=0), (raw.sum(), r_squared_ols)
    return dict(r_squared=float(raw.sum()), r_squared_ols=float(r_squared_ols),
                raw_weights=[float(v) for v in raw],
                rescaled_weights=[float(v) for v in 100 * raw / raw.sum()],
                eigenvalues=[float(v) for v in lam])


base = make_cases(random.Random(20260116))
scenarios = {
    "four_drivers": dict(drivers=DRIVERS, cases=base),
    "collinear": dict(drivers=DRIVERS + ["slowness"],
                      cases=[c[:4] + [10 - c[0], c[4]] for c in base]),
    "constant": dict(drivers=DRIVERS + ["parking"],
                     cases=[c[:4] + [7, c[4]] for c in base]),
}
dataset = dict(
    description="40 customers rating drivers and likelihood_to_recommend (last column) on 0-10",
    outcome="likelihood_to_recommend", scenarios=scenarios)
expected = {name: johnson(s["cases"]) for name, s in scenarios.items()}
def dump(obj, name):
    """JSON with every list of numbers on one line."""
    text = json.dumps(obj, indent=1)
    text = re.sub(r"\[\n\s+([^\[\]{}]*?)\n\s*\]",
                  lambda m: "[" + re.sub(r",\n\s+", ", ", m.group(1)) + "]", text)
    with open(os.path.join(HERE, name), "w") as f:
        f.write(text + "\n")


dump(dataset, "drivers_dataset.json")
dump(expected, "drivers_expected.json")
print("\n# relative weights (drivers_dataset.json -> drivers_expected.json)")
for name, e in expected.items():
    print(f"{name}: r_squared={r(e['r_squared'])} (ols {r(e['r_squared_ols'])}) "
          f"raw={rust_list(e['raw_weights'])} rescaled={rust_list(e['rescaled_weights'])}")
