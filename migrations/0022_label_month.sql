-- A month grain for the label-set level of the rollup (issue 12,
-- docs/decisions/label-rollup.md, "Month grain").
--
-- `gap_label_rollup` (0017) keeps a row per day, label set, question, role,
-- score and survey: at 10M answers over two years that is a few million
-- rows, and a label-filtered or grouped report over the whole span read
-- them all (about 1 s). `gap_label_month` holds the same sums per calendar
-- month (UTC) of the *folded* daily rows, so a window's whole months read
-- one row where the days held about thirty.
--
-- Maintained by the compactor only, in the same statement that folds the
-- pending daily deltas (store::rollup::compact): for every key,
--   gap_label_month[month] = Σ folded gap_label_rollup rows of its days.
-- Ingest does not write it (no cost on the write path). A reader of a
-- whole month sums the month row and that month's *pending* daily deltas;
-- the fold moves a delta from one to the other in one transaction, so
-- every snapshot sees it exactly once.
CREATE TABLE gap_label_month (
    tenant_id  BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    -- The first day of the UTC calendar month.
    month      DATE NOT NULL,
    label_set  BIGINT NOT NULL,
    question   TEXT NOT NULL,
    role       SMALLINT NOT NULL,
    score      INT NOT NULL,
    survey_id  TEXT,
    answers    BIGINT NOT NULL
);
-- The fold's upsert target, one row per key.
CREATE UNIQUE INDEX gap_label_month_key
    ON gap_label_month (tenant_id, month, label_set, question, role, score, survey_id)
    NULLS NOT DISTINCT;
-- Reads: one range per (tenant, question) over whole months, index-only.
CREATE INDEX gap_label_month_question ON gap_label_month (tenant_id, question, month)
    INCLUDE (label_set, role, score, survey_id, answers);
-- Keys whose answers were all deleted, removed after each fold.
CREATE INDEX gap_label_month_zero ON gap_label_month (tenant_id) WHERE answers = 0;

-- The pending deltas of whole months are found by `gap_label_rollup_pending`
-- (tenant_id) WHERE NOT compacted, filtered by day: the compactor keeps them
-- few. Not an index on (tenant_id, day): every delta insert would then land
-- on a random leaf page instead of the end of the tenant's run of equal keys.

-- The folded rows so far, by month.
INSERT INTO gap_label_month
    (tenant_id, month, label_set, question, role, score, survey_id, answers)
SELECT tenant_id, date_trunc('month', day)::date, label_set, question, role, score, survey_id,
       sum(answers)
FROM gap_label_rollup WHERE compacted
GROUP BY 1, 2, 3, 4, 5, 6, 7
HAVING sum(answers) <> 0;
