-- The question catalog (built-in questions are copied in at tenant creation)
-- and the per-tenant scoring model.
CREATE TABLE questions (
    tenant_id        BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    key              TEXT NOT NULL,
    kind             SMALLINT NOT NULL,          -- gapscore.v1.QuestionKind
    text             TEXT NOT NULL DEFAULT '',
    scale_min        INT NOT NULL DEFAULT 0,
    scale_max        INT NOT NULL DEFAULT 0,
    favorable_min    INT NOT NULL DEFAULT 0,
    unfavorable_max  INT,
    built_in         BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE scoring_models (
    tenant_id   BIGINT PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
    model       JSONB NOT NULL,
    etag        TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
