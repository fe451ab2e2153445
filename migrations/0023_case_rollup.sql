-- A daily rollup of complete cases for key drivers (SPEC §11;
-- store::case_rollup, docs/decisions/case-rollup.md).
--
-- `store::drivers::complete_case_sums` needs, over the CUSTOMER responses
-- in scope that answered every variable, n, Σ x_j and Σ x_j·x_k (each
-- score shifted by its question's scale_min). It grouped every answer in
-- the window by response: linear in the answers. Those sums are additive
-- per response, and a response answered a fixed set of questions, so per
-- (UTC day of submitted_at, survey_id, the sorted list of questions the
-- response answered) the rollup keeps the number of responses, Σ x_i per
-- question of the list and Σ x_i·x_j per pair i ≤ j of the list. A read
-- for variables V sums the rows whose list contains V, each variable taken
-- at its position in the list: a whole day reads a few rows per key
-- instead of every answer. Partial edge days and label filters still come
-- from the raw answers (store::drivers).
--
-- `questions` is sorted in byte order (COLLATE "C"). `sums[i]` is the sum
-- of the shifted scores of `questions[i]`; `products` is the upper
-- triangle i ≤ j of the sum of x_i·x_j, row-major, k(k+1)/2 entries for
-- k questions. A response with more scored answers than
-- store::case_rollup::MAX_CASE_WIDTH is counted with NULL sums and
-- products (a 100-answer response would add 5,050 products): a read whose
-- rollup part meets such a row reads the raw answers instead.
--
-- `questions_digest` (sha256 of the list's text form) keys the folded row
-- instead of the list itself: a btree entry holds at most 2,704 bytes, and
-- a wide response's list (up to 100 keys of up to 63 bytes) can be longer.
--
-- The same append-only log of signed deltas as `gap_daily` (0009):
-- writers only insert (in the statement that inserts or deletes the
-- answers, store::rollup::deltas_of), readers sum, the compactor folds
-- pending deltas into one `compacted` row per key. No trigger (Citus,
-- 0020); every key and index starts with tenant_id.
CREATE TABLE case_daily (
    tenant_id         BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    -- The UTC date of the responses' submitted_at.
    day               DATE NOT NULL,
    survey_id         TEXT,
    questions         TEXT[] NOT NULL,
    questions_digest  BYTEA NOT NULL,
    -- Signed, all of them: a delete adds a negative row until compaction.
    cases             BIGINT NOT NULL,
    sums              BIGINT[],
    products          BIGINT[],
    compacted         BOOLEAN NOT NULL DEFAULT false
);
-- Reads: one range per tenant over whole days.
CREATE INDEX case_daily_day ON case_daily (tenant_id, day);
-- As gap_daily: pending deltas found without a scan, one folded row per
-- key, folded keys that reached zero removed after each fold. A key's sums
-- are sums over the responses it counts, so when those number zero every
-- sum is zero too: `cases = 0` finds the empty keys.
CREATE INDEX case_daily_pending ON case_daily (tenant_id) WHERE NOT compacted;
CREATE UNIQUE INDEX case_daily_folded
    ON case_daily (tenant_id, day, survey_id, questions_digest) NULLS NOT DISTINCT
    WHERE compacted;
CREATE INDEX case_daily_zero ON case_daily (tenant_id) WHERE compacted AND cases = 0;

-- Existing answers, already folded (the same rows as
-- store::case_rollup::deltas_of appends, with MAX_CASE_WIDTH = 16).
WITH cases AS (
    SELECT a.tenant_id, (a.submitted_at AT TIME ZONE 'UTC')::date AS day, a.survey_id,
           array_agg(a.question ORDER BY a.question COLLATE "C") AS questions,
           array_agg(a.score - q.scale_min ORDER BY a.question COLLATE "C") AS xs
    FROM answers a
    JOIN questions q ON q.tenant_id = a.tenant_id AND q.key = a.question
    WHERE a.score IS NOT NULL AND a.role = 3
    GROUP BY a.tenant_id, a.rid, a.submitted_at, a.survey_id
), keys AS (
    SELECT tenant_id, day, survey_id, questions, count(*) AS cases
    FROM cases GROUP BY 1, 2, 3, 4
), terms AS (
    SELECT c.tenant_id, c.day, c.survey_id, c.questions, t.i, sum(t.v) AS v
    FROM cases c
    CROSS JOIN LATERAL unnest(c.xs || ARRAY(
        SELECT a.x * b.x
        FROM unnest(c.xs) WITH ORDINALITY AS a(x, i), unnest(c.xs) WITH ORDINALITY AS b(x, j)
        WHERE a.i <= b.j
        ORDER BY a.i, b.j)) WITH ORDINALITY AS t(v, i)
    WHERE cardinality(c.xs) <= 16
    GROUP BY 1, 2, 3, 4, 5
), arrays AS (
    SELECT tenant_id, day, survey_id, questions, array_agg(v ORDER BY i) AS terms
    FROM terms GROUP BY 1, 2, 3, 4
)
INSERT INTO case_daily
    (tenant_id, day, survey_id, questions, questions_digest, cases, sums, products, compacted)
SELECT k.tenant_id, k.day, k.survey_id, k.questions,
       sha256(convert_to(k.questions::text, 'UTF8')), k.cases,
       t.terms[1:cardinality(k.questions)], t.terms[cardinality(k.questions) + 1:], true
FROM keys k
LEFT JOIN arrays t ON t.tenant_id = k.tenant_id AND t.day = k.day
                  AND t.survey_id IS NOT DISTINCT FROM k.survey_id AND t.questions = k.questions;
