-- A daily rollup of RATING answers for the perception gap (SPEC §5),
-- maintained at write time by triggers on `answers` (store::rollup).
--
-- Every §5 statistic follows from a (question, role) score histogram, and
-- histograms add up, so a window of whole UTC days can be answered from
-- `(day, question, role, score, survey_id) → answers` instead of the
-- answers themselves: at most a few hundred rows per tenant and day,
-- whatever the volume. Partial days at the edges of a window still come
-- from `answers` (store::gap), so results are exact for any window.
--
-- The table is an append-only log of signed deltas: the statement-level
-- triggers below add one row per key of each INSERT/DELETE on `answers`
-- (+n / −n), and readers sum. No writer ever updates a rollup row, so
-- concurrent ingest transactions never wait on (or deadlock over) a shared
-- counter. A background compactor (store::rollup::compact) moves the
-- pending deltas into the one `compacted` row of their key, in one
-- transaction, so a reader sees either the deltas or their sum, never both
-- and never neither.
--
-- `survey_id` is copied onto `answers` (like `role` and `submitted_at`) so
-- the triggers see everything they need in the rows they are given: the
-- response row is already changed (re-send) or gone (erasure, cascade)
-- when its answers are deleted.
ALTER TABLE answers ADD COLUMN survey_id TEXT;
UPDATE answers a SET survey_id = r.survey_id
FROM survey_responses r
WHERE r.tenant_id = a.tenant_id AND r.rid = a.rid AND r.survey_id IS NOT NULL;

CREATE TABLE gap_daily (
    tenant_id  BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    -- The UTC date of the answers' submitted_at.
    day        DATE NOT NULL,
    question   TEXT NOT NULL,
    role       SMALLINT NOT NULL,
    score      INT NOT NULL,
    survey_id  TEXT,
    -- Signed: a delete adds a negative row until compaction.
    answers    BIGINT NOT NULL,
    compacted  BOOLEAN NOT NULL DEFAULT false
);
-- Reads: one range per (tenant, question) over whole days, index-only.
CREATE INDEX gap_daily_question_day ON gap_daily (tenant_id, question, day)
    INCLUDE (role, score, survey_id, answers);
-- The compactor finds the pending deltas without a scan, and adds their
-- sums to the one folded row per key (upsert on the unique index), so a
-- fold touches only the keys that changed: its dead tuples are
-- proportional to the writes since the last fold, not to the rollup.
CREATE INDEX gap_daily_pending ON gap_daily (tenant_id) WHERE NOT compacted;
CREATE UNIQUE INDEX gap_daily_folded
    ON gap_daily (tenant_id, day, question, role, score, survey_id) NULLS NOT DISTINCT
    WHERE compacted;
-- Folded keys whose answers were all deleted, removed after each fold.
CREATE INDEX gap_daily_zero ON gap_daily (tenant_id) WHERE compacted AND answers = 0;

CREATE FUNCTION gap_daily_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gap_daily (tenant_id, day, question, role, score, survey_id, answers)
    SELECT tenant_id, (submitted_at AT TIME ZONE 'UTC')::date, question, role, score,
           survey_id, count(*)
    FROM gap_new WHERE score IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6;
    RETURN NULL;
END $$;

CREATE FUNCTION gap_daily_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gap_daily (tenant_id, day, question, role, score, survey_id, answers)
    SELECT tenant_id, (submitted_at AT TIME ZONE 'UTC')::date, question, role, score,
           survey_id, -count(*)
    FROM gap_old WHERE score IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6;
    RETURN NULL;
END $$;

CREATE FUNCTION gap_daily_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gap_daily (tenant_id, day, question, role, score, survey_id, answers)
    SELECT tenant_id, day, question, role, score, survey_id, sum(n)
    FROM (
        SELECT tenant_id, (submitted_at AT TIME ZONE 'UTC')::date AS day, question, role,
               score, survey_id, 1 AS n
        FROM gap_new WHERE score IS NOT NULL
        UNION ALL
        SELECT tenant_id, (submitted_at AT TIME ZONE 'UTC')::date, question, role,
               score, survey_id, -1
        FROM gap_old WHERE score IS NOT NULL
    ) d
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(n) <> 0;
    RETURN NULL;
END $$;

-- Transition tables allow one event per trigger, hence three.
CREATE TRIGGER answers_gap_insert AFTER INSERT ON answers
    REFERENCING NEW TABLE AS gap_new
    FOR EACH STATEMENT EXECUTE FUNCTION gap_daily_add();
CREATE TRIGGER answers_gap_delete AFTER DELETE ON answers
    REFERENCING OLD TABLE AS gap_old
    FOR EACH STATEMENT EXECUTE FUNCTION gap_daily_remove();
CREATE TRIGGER answers_gap_update AFTER UPDATE ON answers
    REFERENCING OLD TABLE AS gap_old NEW TABLE AS gap_new
    FOR EACH STATEMENT EXECUTE FUNCTION gap_daily_change();

-- Existing answers, already folded.
INSERT INTO gap_daily (tenant_id, day, question, role, score, survey_id, answers, compacted)
SELECT tenant_id, (submitted_at AT TIME ZONE 'UTC')::date, question, role, score,
       survey_id, count(*), true
FROM answers WHERE score IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6;
