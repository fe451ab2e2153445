-- Answer frames (SPEC §16.1): expectation, importance and competitor
-- answers beside the experience answers every existing score reads.
--
-- They live in a table of their own rather than in `answers` with a frame
-- column: every score of §5-15, the daily rollup and its triggers read
-- `answers`, so keeping that table to EXPERIENCE answers makes "existing
-- results do not change" hold by construction, with no `frame = ...` to
-- forget in any query, and the rollup never sees a framed score. The new
-- reads (store::frames) pair a framed answer with the EXPERIENCE answer of
-- the same (response, question) through both primary keys.
CREATE TABLE framed_answers (
    tenant_id     BIGINT NOT NULL,
    rid           BIGINT NOT NULL,
    question      TEXT NOT NULL,
    frame         SMALLINT NOT NULL,   -- gapscore.v1.AnswerFrame: 2, 3 or 4
    -- '' for every frame but COMPETITOR, so it can be part of the key.
    competitor    TEXT NOT NULL DEFAULT '',
    -- Copied from the response, like on `answers`, so the reads filter and
    -- group without a join in the common case.
    role          SMALLINT NOT NULL,
    submitted_at  TIMESTAMPTZ NOT NULL,
    survey_id     TEXT,
    score         INT NOT NULL,
    comment       TEXT,
    -- Position among all the response's answers, framed or not, so Get and
    -- List return the answers in the order they were sent.
    ordinal       SMALLINT NOT NULL,
    PRIMARY KEY (tenant_id, rid, question, frame, competitor),
    FOREIGN KEY (tenant_id, rid) REFERENCES survey_responses (tenant_id, rid) ON DELETE CASCADE,
    CHECK (frame IN (2, 3, 4)),
    CHECK ((frame = 4) = (competitor <> ''))
);
-- Reads: one range per (tenant, frame, question) in a window.
CREATE INDEX framed_answers_question_time
    ON framed_answers (tenant_id, frame, question, submitted_at)
    INCLUDE (role, score, competitor);

-- The two new built-in THEMES questions, for every existing tenant (new
-- tenants get them from the catalog seed). A tenant that already defined
-- a question of that key keeps its own.
INSERT INTO questions (tenant_id, key, kind, text, built_in)
SELECT t.tenant_id, q.key, 2, q.text, true
FROM tenants t
CROSS JOIN (VALUES
    ('competitors_do_better', 'What do competitors do better?'),
    ('competitors_do_worse', 'What do competitors do worse?')
) AS q(key, text)
ON CONFLICT (tenant_id, key) DO NOTHING;
