"""Reference figures for SPEC §11 (GetKeyDrivers) on priority_dataset.json.

From the raw responses of the data set (EXPERIENCE answers in its window):
complete cases per driver set, Johnson's relative weights with numpy
(np.corrcoef, np.linalg.eigh: R = V diag(l) V^T, L = V diag(sqrt l) V^T,
beta = L^-1 r, raw_j = sum_k L_jk^2 beta_k^2), R^2 also by least squares
(np.linalg.lstsq) as a check, and each driver's LEADERSHIP->CUSTOMER and
STAFF->CUSTOMER gap_points = (favorable share of the role - customers') x 100
over every respondent of the question (a role with fewer than
min_group_size respondents is suppressed: no gap), priority =
rescaled x max(0, leadership gap) / 100, ordered by priority, then rescaled
weight, then key. Bootstrap intervals are not reproduced here (they depend
on the generator); tests/api/key_drivers.rs checks them for determinism and
coverage of the point estimate.

Writes key_drivers_expected.json; run: python3 key_drivers_reference.py
"""

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MIN_GROUP_SIZE = 5
OUTCOME = "likelihood_to_recommend"
# favorable_min of the built-in catalog (src/domain/question.rs).
FAVORABLE_MIN = {"ease": 5, OUTCOME: 9}

with open(os.path.join(HERE, "priority_dataset.json")) as f:
    data = json.load(f)
start, end = data["window"]
responses = [r for r in data["responses"] if start <= r["submitted_at"] < end]


def experience(r):
    return {a["question"]: a["score"] for a in r["answers"] if a["frame"] == "EXPERIENCE"}


def relative_weights(x, y):
    corr = np.corrcoef(np.column_stack([x, y]), rowvar=False)
    R, r = corr[:-1, :-1], corr[:-1, -1]
    lam, V = np.linalg.eigh(R)
    L = V @ np.diag(np.sqrt(lam)) @ V.T
    beta = np.linalg.solve(L, r)
    raw = (L ** 2) @ (beta ** 2)
    design = np.column_stack([np.ones(len(y)), x])
    fit, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ fit
    r2_ols = 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
    return raw, float(raw.sum()), float(r2_ols)


def favorable(role, q):
    scores = [experience(r)[q] for r in responses
              if r["role"] == role and q in experience(r)]
    if len(scores) < MIN_GROUP_SIZE:
        return None
    return sum(s >= FAVORABLE_MIN.get(q, 4) for s in scores) / len(scores)


def complete_cases(drivers):
    cases = [experience(r) for r in responses if r["role"] == "CUSTOMER"]
    return [c for c in cases if OUTCOME in c and all(d in c for d in drivers)]


def model(drivers):
    cases = complete_cases(drivers)
    x = np.array([[c[d] for d in drivers] for c in cases], dtype=float)
    y = np.array([c[OUTCOME] for c in cases], dtype=float)
    raw, r2, r2_ols = relative_weights(x, y)
    out = []
    for d, w in zip(drivers, raw):
        customers = favorable("CUSTOMER", d)
        gaps = {}
        for role in ("LEADERSHIP", "STAFF"):
            p = favorable(role, d)
            gaps[role] = None if p is None or customers is None else (p - customers) * 100
        rescaled = w / r2 * 100
        lead = gaps["LEADERSHIP"]
        out.append(dict(question=d, raw_weight=float(w), rescaled_weight=float(rescaled),
                        leadership_gap_points=lead, staff_gap_points=gaps["STAFF"],
                        priority=0.0 if lead is None else float(rescaled * max(0.0, lead) / 100)))
    out.sort(key=lambda d: (-d["priority"], -d["rescaled_weight"], d["question"]))
    return dict(cases=len(cases), r_squared=r2, r_squared_ols=r2_ols, drivers=out)


customer_questions = sorted({q for r in responses if r["role"] == "CUSTOMER"
                             for q in experience(r)} - {OUTCOME})
expected = {
    "min_group_size": MIN_GROUP_SIZE,
    # Every question at once leaves too few complete cases: FAILED_PRECONDITION.
    "default_drivers": dict(driver_questions=customer_questions,
                            cases=len(complete_cases(customer_questions)),
                            needed=max(MIN_GROUP_SIZE, len(customer_questions) + 2)),
    "named_drivers": dict(driver_questions=["speed", "convenience", "friendly_support"],
                          **model(["speed", "convenience", "friendly_support"])),
}
with open(os.path.join(HERE, "key_drivers_expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
print(f"default_drivers: {expected['default_drivers']}")
for name in ("named_drivers",):
    e = expected[name]
    print(f"{name}: cases={e['cases']} r_squared={e['r_squared']!r} ols={e['r_squared_ols']!r}")
    for d in e["drivers"]:
        print(f"  {d['question']}: raw={d['raw_weight']!r} rescaled={d['rescaled_weight']!r} "
              f"lead={d['leadership_gap_points']!r} staff={d['staff_gap_points']!r} "
              f"priority={d['priority']!r}")
