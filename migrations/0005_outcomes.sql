-- Observed loyalty outcomes, which calibrate the loyalty priors (SPEC 7.3).
CREATE TABLE outcomes (
    tenant_id    BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    id           TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    kind         SMALLINT NOT NULL,                 -- gapscore.v1.OutcomeKind
    occurred     BOOLEAN NOT NULL,
    observed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outcomes_time ON outcomes (tenant_id, observed_at, id);
CREATE INDEX outcomes_customer ON outcomes (tenant_id, customer_id);
