-- A label-set level of the perception-gap rollup (issue 12,
-- docs/decisions/label-rollup.md).
--
-- A label filter (`labels @> …`) or a `group_by` label key could not use
-- `gap_daily` (0009), which has no labels, and read every answer in scope
-- joined to its response. Tenants label responses with a few segments
-- (region, product, plan), so a tenant has few *distinct* label sets even
-- when it has millions of responses. Each distinct set is interned once in
-- `label_sets`; a response (and, copied like `survey_id`, each of its
-- answers) names its set by id; and `gap_label_rollup` keeps the daily
-- histograms per label set. A filter or a grouping is then decided once
-- per label set, not once per answer.

-- Every distinct label set of a tenant's responses, the empty set `{}`
-- included (responses without labels name it, so `label_set` is set on
-- every response written since). Sets are never updated; they are
-- removed with the tenant's data (tenant clear/delete). Unique by the
-- SHA-256 of the set's canonical text, not by the set itself: a set may
-- hold 16 labels of up to 128 characters, beyond what a btree entry
-- holds (about 2.7 kB). `jsonb` text is canonical (keys sorted, no
-- duplicates), so equal sets have equal digests.
CREATE TABLE label_sets (
    tenant_id  BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    id         BIGINT GENERATED ALWAYS AS IDENTITY,
    -- sha256(convert_to(labels::text, 'UTF8')), computed by every writer.
    digest     BYTEA NOT NULL,
    labels     JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, digest)
);

INSERT INTO label_sets (tenant_id, digest, labels)
SELECT tenant_id, sha256(convert_to(labels::text, 'UTF8')), labels
FROM (SELECT DISTINCT tenant_id, labels FROM survey_responses) s
ORDER BY tenant_id, labels;

ALTER TABLE survey_responses ADD COLUMN label_set BIGINT;
UPDATE survey_responses r SET label_set = l.id
FROM label_sets l
WHERE l.tenant_id = r.tenant_id AND l.digest = sha256(convert_to(r.labels::text, 'UTF8'));

-- Copied from the response, as `role`, `submitted_at` and `survey_id`
-- are: the rollup append sees it in the rows a write RETURNs, and the
-- partial edge days of a label-filtered window are read without a join.
ALTER TABLE answers ADD COLUMN label_set BIGINT;
UPDATE answers a SET label_set = r.label_set
FROM survey_responses r
WHERE r.tenant_id = a.tenant_id AND r.rid = a.rid;

-- `gap_daily` with the label set as one more key column: the same
-- append-only log of signed deltas (appended by the same statements,
-- store::rollup::deltas_of), folded by the same compactor.
CREATE TABLE gap_label_rollup (
    tenant_id  BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    -- The UTC date of the answers' submitted_at.
    day        DATE NOT NULL,
    label_set  BIGINT NOT NULL,
    question   TEXT NOT NULL,
    role       SMALLINT NOT NULL,
    score      INT NOT NULL,
    survey_id  TEXT,
    -- Signed: a delete adds a negative row until compaction.
    answers    BIGINT NOT NULL,
    compacted  BOOLEAN NOT NULL DEFAULT false
);
-- Reads: one range per (tenant, question) over whole days, index-only;
-- the label sets are matched by a hash join on the few sets in scope.
CREATE INDEX gap_label_rollup_question_day ON gap_label_rollup (tenant_id, question, day)
    INCLUDE (label_set, role, score, survey_id, answers);
-- As gap_daily's: pending deltas, the folded row per key, zero rows.
CREATE INDEX gap_label_rollup_pending ON gap_label_rollup (tenant_id) WHERE NOT compacted;
CREATE UNIQUE INDEX gap_label_rollup_folded
    ON gap_label_rollup (tenant_id, day, label_set, question, role, score, survey_id)
    NULLS NOT DISTINCT WHERE compacted;
CREATE INDEX gap_label_rollup_zero ON gap_label_rollup (tenant_id)
    WHERE compacted AND answers = 0;

-- Existing answers, already folded.
INSERT INTO gap_label_rollup
    (tenant_id, day, label_set, question, role, score, survey_id, answers, compacted)
SELECT tenant_id, (submitted_at AT TIME ZONE 'UTC')::date, label_set, question, role, score,
       survey_id, count(*), true
FROM answers WHERE score IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7;
