"""Reference figures for SPEC §10.6 (GetLoyaltyRisk.calibration_quality).

Independent of gapscore's count formulas: every attributed outcome is expanded
into its own row (tier, y), the Brier scores are numpy means over those rows,
and each leave-one-out posterior mean is recomputed from the prior and the
*other* rows of its (tier, kind) cell by actually dropping the row. Wilson
intervals are statsmodels' proportion_confint(method="wilson").

Two data sets:
- "loyalty_dataset": the attributed outcome counts stats_reference.py derived
  from the raw records of loyalty_dataset.json (loyalty_expected.json's
  tier_rates), checked end to end in tests/api/loyalty_quality.rs;
- "one_tier": outcomes in the HIGH tier only (5 NEGATIVE_WORD_OF_MOUTH of
  which 2 occurred, 3 DISLOYALTY all occurred), at confidence 0.90, checked
  end to end and by the unit tests of src/scoring/loyalty/quality.rs.

Writes loyalty_quality_expected.json; run: python3 loyalty_quality_reference.py
"""

import json
import os

import numpy as np
from statsmodels.stats.proportion import proportion_confint

HERE = os.path.dirname(os.path.abspath(__file__))
TIERS = ["LOW", "MEDIUM", "HIGH"]
KINDS = ["NEGATIVE_WORD_OF_MOUTH", "DISLOYALTY", "REPURCHASE", "SPEND_INCREASE"]
PRIORS = {
    "NEGATIVE_WORD_OF_MOUTH": (0.01, 0.81),
    "DISLOYALTY": (0.09, 0.96),
    "REPURCHASE": (0.94, 0.04),
    "SPEND_INCREASE": (0.88, 0.04),
}
STRENGTH = 50.0


def prior(tier, kind):
    low, high = PRIORS[kind]
    return {"LOW": (low, STRENGTH), "HIGH": (high, STRENGTH),
            "MEDIUM": ((low + high) / 2, STRENGTH / 2)}[tier]


def quality(cells, level):
    """cells: {(tier, kind): (n, k)} -> the calibration_quality list."""
    out = []
    for kind in KINDS:
        rows = []  # (tier, y)
        for t in TIERS:
            n, k = cells.get((t, kind), (0, 0))
            rows += [(t, 1)] * k + [(t, 0)] * (n - k)
        if not rows:
            continue
        y = np.array([r[1] for r in rows], dtype=float)
        prior_mean = np.array([prior(t, kind)[0] for t, _ in rows])
        loo = []
        for i, (t, _) in enumerate(rows):
            m, s = prior(t, kind)
            others = np.array([yy for j, (tt, yy) in enumerate(rows) if j != i and tt == t],
                              dtype=float)
            loo.append((m * s + others.sum()) / (s + len(others)))
        loo = np.array(loo)
        tiers = []
        for t in TIERS:
            n, k = cells.get((t, kind), (0, 0))
            entry = dict(tier=t, predicted=prior(t, kind)[0], outcomes=n)
            if n:
                lo, hi = proportion_confint(k, n, alpha=1 - level, method="wilson")
                entry.update(observed_rate=k / n, observed_rate_ci=[float(lo), float(hi)])
            tiers.append(entry)
        out.append(dict(kind=kind, outcomes=len(rows),
                        brier_prior=float(np.mean((prior_mean - y) ** 2)),
                        brier_posterior_loo=float(np.mean((loo - y) ** 2)),
                        tiers=tiers))
    return out


with open(os.path.join(HERE, "loyalty_expected.json")) as f:
    loyalty = json.load(f)
dataset_cells = {(r["tier"], o["kind"]): (r["observed"], r["occurrences"])
                 for o in loyalty["outcomes"] for r in o["tier_rates"]}
one_tier_cells = {("HIGH", "NEGATIVE_WORD_OF_MOUTH"): (5, 2), ("HIGH", "DISLOYALTY"): (3, 3)}

expected = {
    "loyalty_dataset": dict(confidence_level=loyalty["confidence_level"],
                            calibration_quality=quality(dataset_cells,
                                                        loyalty["confidence_level"])),
    "one_tier": dict(confidence_level=0.9, cells=[[t, k, n, o] for (t, k), (n, o)
                                                  in one_tier_cells.items()],
                     calibration_quality=quality(one_tier_cells, 0.9)),
}
with open(os.path.join(HERE, "loyalty_quality_expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
for name, e in expected.items():
    for q in e["calibration_quality"]:
        print(f"{name} {q['kind']}: outcomes={q['outcomes']} brier_prior={q['brier_prior']!r} "
              f"brier_posterior_loo={q['brier_posterior_loo']!r}")
