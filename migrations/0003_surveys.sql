-- Survey responses and their answers. `rid` is a compact surrogate key so the
-- (large) answers table does not repeat the caller's text id.
CREATE TABLE survey_responses (
    tenant_id      BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    rid            BIGINT GENERATED ALWAYS AS IDENTITY,
    id             TEXT NOT NULL,
    role           SMALLINT NOT NULL,             -- gapscore.v1.RespondentRole
    respondent_id  TEXT,
    survey_id      TEXT,
    submitted_at   TIMESTAMPTZ NOT NULL,
    labels         JSONB NOT NULL DEFAULT '{}',
    -- SHA-256 of the normalized record: an identical re-send is `unchanged`.
    content_hash   BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, rid),
    UNIQUE (tenant_id, id)
);
CREATE INDEX survey_responses_time ON survey_responses (tenant_id, submitted_at, id);
CREATE INDEX survey_responses_respondent ON survey_responses (tenant_id, respondent_id)
    WHERE respondent_id IS NOT NULL;

-- role and submitted_at are copied from the response so scoring can filter
-- and group answers without a join in the common case.
CREATE TABLE answers (
    tenant_id     BIGINT NOT NULL,
    rid           BIGINT NOT NULL,
    question      TEXT NOT NULL,
    role          SMALLINT NOT NULL,
    submitted_at  TIMESTAMPTZ NOT NULL,
    score         INT,
    themes        TEXT[],
    comment       TEXT,
    ordinal       SMALLINT NOT NULL,
    PRIMARY KEY (tenant_id, rid, question),
    FOREIGN KEY (tenant_id, rid) REFERENCES survey_responses (tenant_id, rid) ON DELETE CASCADE
);
CREATE INDEX answers_question_time ON answers (tenant_id, question, submitted_at)
    INCLUDE (role, score);
