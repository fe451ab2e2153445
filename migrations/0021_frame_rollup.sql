-- A daily rollup of framed answers (SPEC §16, issue 12;
-- store::frame_rollup, docs/decisions/frame-rollup.md).
--
-- The expectation, competitive and importance reads (store::frames) summed
-- every framed answer in scope, each paired with the EXPERIENCE answer of
-- the same response and question, at request time: linear in the answers.
-- What they sum is additive per (UTC day of the response's submitted_at,
-- question, frame, competitor, role, survey_id, paired or not): n, Σ
-- experience, Σ framed, Σ framed², Σ (experience − framed)², and the
-- counts above and below. A window of whole days then reads a few rows per
-- day and key; partial edge days, and any scope with labels (which this
-- rollup does not keep), still come from the raw rows, so results are
-- exact for any scope.
--
-- The sums rather than a (experience, framed) pair histogram: they are
-- integers, so exact and additive like the counts of `gap_daily`, and a
-- key keeps one row per day where a histogram keeps up to (scale span + 1)²
-- (121 on a 0-10 scale).
--
-- The pairing is known when a framed answer is written or deleted: a
-- response's EXPERIENCE and framed answers are inserted and deleted
-- together (a changed re-send replaces them all, an erasure deletes them
-- all), and every statement that inserts or deletes framed answers joins
-- them to the response's `answers` in its own snapshot, while those are in
-- place (store::frame_rollup::deltas_of).
--
-- The same append-only log of signed deltas as `gap_daily` (0009) and
-- `effort_daily` (0015): writers only insert, readers sum, the compactor
-- folds the pending deltas into one `compacted` row per key. No trigger
-- (Citus, 0020); every key and index starts with tenant_id.
CREATE TABLE frame_daily (
    tenant_id          BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    -- The UTC date of the answers' submitted_at.
    day                DATE NOT NULL,
    question           TEXT NOT NULL,
    -- gapscore.v1.AnswerFrame: 2, 3 or 4.
    frame              SMALLINT NOT NULL,
    -- '' for every frame but COMPETITOR, as in `framed_answers`.
    competitor         TEXT NOT NULL,
    role               SMALLINT NOT NULL,
    survey_id          TEXT,
    -- Whether the framed answers had a scored EXPERIENCE answer of the same
    -- response and question; the experience sums are 0 when not.
    paired             BOOLEAN NOT NULL,
    -- Signed, all of them: a delete adds a negative row until compaction.
    -- `answers` is the number of framed answers (respondents).
    answers            BIGINT NOT NULL,
    sum_experience     BIGINT NOT NULL,
    sum_framed         BIGINT NOT NULL,
    sum_sq_framed      BIGINT NOT NULL,
    sum_sq_difference  BIGINT NOT NULL,
    -- Paired answers whose experience score is above / below the framed one.
    above              BIGINT NOT NULL,
    below              BIGINT NOT NULL,
    compacted          BOOLEAN NOT NULL DEFAULT false
);
-- Reads: one range per (tenant, frame, question) over whole days,
-- index-only.
CREATE INDEX frame_daily_question_day ON frame_daily (tenant_id, frame, question, day)
    INCLUDE (competitor, role, survey_id, paired, answers, sum_experience, sum_framed,
             sum_sq_framed, sum_sq_difference, above, below);
-- As gap_daily: pending deltas found without a scan, one folded row per
-- key, folded keys that reached zero removed after each fold. A key's sums
-- are sums over the framed answers it counts, so when those number zero
-- every sum is zero too: `answers = 0` finds the empty keys.
CREATE INDEX frame_daily_pending ON frame_daily (tenant_id) WHERE NOT compacted;
CREATE UNIQUE INDEX frame_daily_folded
    ON frame_daily (tenant_id, day, question, frame, competitor, role, survey_id, paired)
    NULLS NOT DISTINCT WHERE compacted;
CREATE INDEX frame_daily_zero ON frame_daily (tenant_id) WHERE compacted AND answers = 0;

-- Existing framed answers, already folded (the same sums as
-- store::frame_rollup::deltas_of appends).
INSERT INTO frame_daily
    (tenant_id, day, question, frame, competitor, role, survey_id, paired, answers,
     sum_experience, sum_framed, sum_sq_framed, sum_sq_difference, above, below, compacted)
SELECT f.tenant_id, (f.submitted_at AT TIME ZONE 'UTC')::date, f.question, f.frame,
       f.competitor, f.role, f.survey_id, e.score IS NOT NULL, count(*),
       coalesce(sum(e.score), 0), sum(f.score), sum(f.score::bigint * f.score),
       coalesce(sum((e.score - f.score)::bigint * (e.score - f.score)), 0),
       count(*) FILTER (WHERE e.score > f.score), count(*) FILTER (WHERE e.score < f.score),
       true
FROM framed_answers f
LEFT JOIN answers e ON e.tenant_id = f.tenant_id AND e.rid = f.rid AND e.question = f.question
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
