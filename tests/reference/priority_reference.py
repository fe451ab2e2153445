#!/usr/bin/env python3
"""Reference figures for GetPriorityMap (SPEC §16.4), from independent implementations.

Writes a small survey data set (priority_dataset.json) and every figure the
priority map of that data set must show (priority_expected.json);
tests/api/priority.rs submits the data set through gRPC and asserts every
field within 1e-6. Re-run it after changing the data set or a formula:

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install numpy scipy statsmodels
    /tmp/refenv/bin/python tests/reference/priority_reference.py \
        > tests/reference/priority_reference.out.txt

The output (committed beside it) holds the stated-importance figures the
unit tests in src/scoring/priority.rs assert, and a summary of the maps.

Independent of the service's code:
- performance: statsmodels proportion_confint(method='wilson') on the counts;
- stated importance: the mean and scipy.stats.t.interval (df n - 1, scale
  the standard error of the raw IMPORTANCE scores), normalized to 0-100;
- derived importance: Johnson's relative weights in numpy (np.corrcoef,
  np.linalg.eigh) on the complete cases, their sum checked against the R²
  of an ordinary least-squares fit (np.linalg.lstsq) of the outcome on the
  drivers;
- delivery gap: leadership's favorable share minus customers', in points;
- quadrants and order: SPEC §16.4's rule as documented in
  src/scoring/priority.rs, written out again here.

Produced with numpy 2.4.6, scipy 1.17.1 and statsmodels 0.15.0.
"""
import json
import os

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

HERE = os.path.dirname(os.path.abspath(__file__))
MIN_GROUP_SIZE = 5  # the scoring model's default
OUTCOME = "likelihood_to_recommend"
# Built-in RATING questions (SPEC §4): scale and favorable_min.
SCALES = {
    "overall_experience": (1, 5, 4),
    "customer_centricity": (1, 5, 4),
    "speed": (1, 5, 4),
    "convenience": (1, 5, 4),
    "knowledgeable_help": (1, 5, 4),
    "friendly_support": (1, 5, 4),
    "ease": (1, 7, 5),
    "likelihood_to_recommend": (0, 10, 9),
    "csat": (1, 5, 4),
}
EXCLUDED = {"likelihood_to_recommend", "overall_experience", "csat"}
WINDOW = ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"]

rng = np.random.RandomState(20260216)


def clip(x, q):
    lo, hi, _ = SCALES[q]
    return int(min(hi, max(lo, round(x))))


# ------------------------------------------------------------------ data set
responses = []


def add(rid, role, day, answers, hour=10):
    responses.append({
        "id": rid,
        "role": role,
        "submitted_at": f"2026-{day}T{hour:02d}:00:00Z",
        "answers": [{"question": q, "frame": f, "score": s} for q, f, s in answers],
    })


# 48 customers in the window. A latent satisfaction drives every answer;
# speed is rated poorly and matters most to likelihood_to_recommend.
for i in range(48):
    latent = rng.normal(0.0, 1.0)
    noise = lambda s: rng.normal(0.0, s)
    exp = {
        "speed": clip(2.6 + 0.9 * latent + noise(0.8), "speed"),
        "convenience": clip(3.9 + 0.5 * latent + noise(0.8), "convenience"),
        "knowledgeable_help": clip(3.4 + 0.4 * latent + noise(0.9), "knowledgeable_help"),
        "friendly_support": clip(4.1 + 0.2 * latent + noise(0.7), "friendly_support"),
        "ease": clip(4.6 + 0.8 * latent + noise(1.1), "ease"),
        "overall_experience": clip(3.0 + 0.8 * latent + noise(0.7), "overall_experience"),
        "csat": clip(3.5 + 0.7 * latent + noise(0.7), "csat"),
    }
    exp[OUTCOME] = clip(6.0 + 1.6 * latent + 0.6 * (exp["speed"] - 3) + noise(1.2), OUTCOME)
    # About one answer in ten is skipped: incomplete cases.
    answers = [(q, "EXPERIENCE", s) for q, s in exp.items() if rng.uniform() > 0.08]
    # customer_centricity: only three customers answer it (suppressed).
    if i < 3:
        answers.append(("customer_centricity", "EXPERIENCE", int(rng.randint(1, 6))))
    # IMPORTANCE: most customers say speed matters a lot, friendly support less.
    if i % 3 != 0:
        answers.append(("speed", "IMPORTANCE", clip(4.5 + noise(0.6), "speed")))
        answers.append(("convenience", "IMPORTANCE", clip(3.9 + noise(0.8), "convenience")))
    if i % 2 == 0:
        answers.append(("knowledgeable_help", "IMPORTANCE",
                        clip(4.2 + noise(0.7), "knowledgeable_help")))
        answers.append(("friendly_support", "IMPORTANCE",
                        clip(3.1 + noise(0.9), "friendly_support")))
    # ease: four IMPORTANCE answers, below min_group_size: no stated importance.
    if i < 4:
        answers.append(("ease", "IMPORTANCE", clip(6.0 + noise(1.0), "ease")))
    # customer_centricity: enough IMPORTANCE answers, but the question is
    # suppressed (three EXPERIENCE answers): counted, never shown.
    if i < 7:
        answers.append(("customer_centricity", "IMPORTANCE", int(rng.randint(3, 6))))
    add(f"c{i:02d}", "CUSTOMER", f"02-{1 + i % 27:02d}", answers, hour=8 + i % 10)

# Leaders believe the experience is good; staff somewhat less so.
for i in range(8):
    add(f"l{i}", "LEADERSHIP", f"02-{3 + i:02d}", [
        ("speed", "EXPERIENCE", int(rng.choice([3, 4, 4, 5]))),
        ("convenience", "EXPERIENCE", int(rng.choice([4, 4, 5]))),
        ("overall_experience", "EXPERIENCE", int(rng.choice([4, 5]))),
        ("ease", "EXPERIENCE", int(rng.choice([5, 6, 7]))),
        ("speed", "IMPORTANCE", 5),
    ])
# knowledgeable_help: only three leaders, so no delivery gap there.
for i in range(3):
    add(f"l-kh{i}", "LEADERSHIP", f"02-{10 + i:02d}",
        [("knowledgeable_help", "EXPERIENCE", 5)])
for i in range(6):
    add(f"s{i}", "STAFF", f"02-{5 + i:02d}", [
        ("speed", "EXPERIENCE", int(rng.choice([2, 3, 4]))),
        ("friendly_support", "EXPERIENCE", int(rng.choice([4, 5]))),
    ])
# Outside the window: customers who would change every figure.
for i in range(5):
    add(f"late{i}", "CUSTOMER", "03-02", [
        ("speed", "EXPERIENCE", 5), ("speed", "IMPORTANCE", 1),
        ("convenience", "EXPERIENCE", 1), (OUTCOME, "EXPERIENCE", 0),
    ])


# ------------------------------------------------------------------ figures
def in_window(r):
    return WINDOW[0] <= r["submitted_at"] < WINDOW[1]


def scores(role, question, frame, with_importance=True):
    out = {}
    for r in responses:
        if r["role"] != role or not in_window(r):
            continue
        for a in r["answers"]:
            if a["question"] == question and a["frame"] == frame:
                if frame == "IMPORTANCE" and not with_importance:
                    continue
                out[r["id"]] = a["score"]
    return out


def favorable_share(values, q):
    fav = sum(1 for v in values if v >= SCALES[q][2])
    return fav, len(values)


def relative_weights(X, y):
    """Johnson (2000): relative weights from the correlation matrix."""
    C = np.corrcoef(np.column_stack([X, y]), rowvar=False)
    R, r = C[:-1, :-1], C[:-1, -1]
    lam, V = np.linalg.eigh(R)
    half = V @ np.diag(np.sqrt(lam)) @ V.T
    beta = np.linalg.solve(half, r)
    raw = (half ** 2) @ (beta ** 2)
    # Independent check: the raw weights sum to the OLS R².
    Z = (X - X.mean(0)) / X.std(0)
    zy = (y - y.mean()) / y.std()
    coef, *_ = np.linalg.lstsq(Z, zy, rcond=None)
    r2 = 1 - np.sum((zy - Z @ coef) ** 2) / np.sum(zy ** 2)
    assert abs(raw.sum() - r2) < 1e-12, (raw.sum(), r2)
    return raw, r2


def normalized(mean, t_lo, t_hi, lo, hi):
    """A mean and its interval on 0-100, the interval clipped to the scale."""
    norm = lambda v: float((v - lo) / (hi - lo) * 100)
    clip100 = lambda v: min(100.0, max(0.0, norm(v)))
    return norm(mean), [clip100(t_lo), clip100(t_hi)]


def quadrant(i, p, mi, mp, tol=1e-9):
    important = i - mi > tol
    performing = p - mp >= -tol
    return {
        (True, False): "CONCENTRATE_HERE",
        (True, True): "KEEP_UP_THE_GOOD_WORK",
        (False, False): "LOW_PRIORITY",
        (False, True): "POSSIBLE_OVERKILL",
    }[(important, performing)]


def priority_map(level, with_importance):
    questions = sorted(q for q in SCALES if q not in EXCLUDED
                       and scores("CUSTOMER", q, "EXPERIENCE"))
    rows = []
    for q in questions:
        lo, hi, _ = SCALES[q]
        exp = scores("CUSTOMER", q, "EXPERIENCE")
        imp = scores("CUSTOMER", q, "IMPORTANCE", with_importance)
        row = {"question": q, "respondents": len(exp),
               "importance_respondents": len(imp),
               "suppressed": len(exp) < MIN_GROUP_SIZE}
        if not row["suppressed"]:
            fav, n = favorable_share(list(exp.values()), q)
            ci = proportion_confint(fav, n, alpha=1 - level, method="wilson")
            row["performance"] = fav / n * 100
            row["performance_ci"] = [ci[0] * 100, ci[1] * 100]
            if len(imp) >= MIN_GROUP_SIZE:
                x = np.array(list(imp.values()), dtype=float)
                mean = x.mean()
                t_lo, t_hi = stats.t.interval(level, len(x) - 1, loc=mean,
                                              scale=stats.sem(x))
                row["stated_importance"], row["stated_importance_ci"] = normalized(
                    mean, t_lo, t_hi, lo, hi)
            leaders = list(scores("LEADERSHIP", q, "EXPERIENCE").values())
            if len(leaders) >= MIN_GROUP_SIZE:
                lf, ln = favorable_share(leaders, q)
                row["delivery_gap_points"] = (lf / ln - fav / n) * 100
        rows.append(row)

    # Derived importance: the unsuppressed questions against the outcome,
    # over the complete cases.
    drivers = [r["question"] for r in rows if not r["suppressed"]]
    cases = []
    for r in responses:
        if r["role"] != "CUSTOMER" or not in_window(r):
            continue
        got = {a["question"]: a["score"] for a in r["answers"] if a["frame"] == "EXPERIENCE"}
        if all(q in got for q in drivers + [OUTCOME]):
            cases.append([got[q] for q in drivers] + [got[OUTCOME]])
    cases = np.array(cases, dtype=float)
    out = {"confidence_level": level, "min_group_size": MIN_GROUP_SIZE,
           "derived_cases": len(cases)}
    assert len(cases) >= max(MIN_GROUP_SIZE, len(drivers) + 2)
    raw, r2 = relative_weights(cases[:, :-1], cases[:, -1])
    out["derived_r_squared"] = float(r2)
    for q, w in zip(drivers, raw):
        next(r for r in rows if r["question"] == q)["derived_importance"] = float(w / r2 * 100)

    stated = any("stated_importance" in r for r in rows)
    source = "stated_importance" if stated else "derived_importance"
    out["importance_source"] = "STATED" if stated else "DERIVED"
    placed = [r for r in rows if source in r]
    mi = sum(r[source] for r in placed) / len(placed)
    mp = sum(r["performance"] for r in placed) / len(placed)
    out["importance_mean"], out["performance_mean"] = mi, mp
    for r in rows:
        r["quadrant"] = (quadrant(r[source], r["performance"], mi, mp)
                         if r in placed else "UNSPECIFIED")
    first = sorted((r for r in rows if r["quadrant"] == "CONCENTRATE_HERE"),
                   key=lambda r: (-r[source], r["question"]))
    rest = sorted((r for r in placed if r["quadrant"] != "CONCENTRATE_HERE"),
                  key=lambda r: (-r[source], r["question"]))
    unplaced = sorted((r for r in rows if r not in placed), key=lambda r: r["question"])
    out["questions"] = first + rest + unplaced
    return out


expected = {
    "window": WINDOW,
    # Tenant "acme": every answer, at a 0.90 level.
    "stated": priority_map(0.90, with_importance=True),
    # Tenant "nobody_asked": the same data without IMPORTANCE answers, at
    # the model's 0.95.
    "derived": priority_map(0.95, with_importance=False),
}
with open(os.path.join(HERE, "priority_dataset.json"), "w") as f:
    # One response a line, so a diff shows which responses changed.
    f.write('{"window": %s,\n "responses": [\n' % json.dumps(WINDOW))
    f.write(",\n".join("  " + json.dumps(r) for r in responses))
    f.write("\n ]}\n")
with open(os.path.join(HERE, "priority_expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
print(f"# numpy {np.__version__}, scipy {scipy.__version__}, statsmodels {statsmodels.__version__}")
print("\n# stated_importance (src/scoring/priority.rs): scores, scale, level, value, ci")
print("# mean and scipy.stats.t.interval(level, n - 1, mean, sem), normalized, clipped")
for xs, (lo, hi), level in [([5, 4, 4, 5, 3], (1, 5), 0.95), ([5, 4, 4, 5, 3], (1, 5), 0.90),
                            ([7, 6, 7, 5, 6, 7, 4], (1, 7), 0.99),
                            ([3, 8, 10, 6, 9, 2], (0, 10), 0.95),
                            ([2, 1, 1, 3, 1, 2, 1, 1], (1, 5), 0.95)]:
    x = np.array(xs, dtype=float)
    t_lo, t_hi = stats.t.interval(level, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    value, ci = normalized(x.mean(), t_lo, t_hi, lo, hi)
    print(f"({xs}, ({lo}, {hi}), {level}, {value!r}, ({ci[0]!r}, {ci[1]!r})),")
print()
for name, m in (("stated", expected["stated"]), ("derived", expected["derived"])):
    print(name, m["importance_source"], "cases", m["derived_cases"],
          "R²", round(m["derived_r_squared"], 4))
    for r in m["questions"]:
        print(" ", r["question"], r["quadrant"], {k: round(v, 2) for k, v in r.items()
                                                  if isinstance(v, float)})
