-- Journeys with their effort components computed at write time (SPEC 6.1,
-- weights not applied), so scoring never re-reads touchpoints.
CREATE TABLE journeys (
    tenant_id                BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    jid                      BIGINT GENERATED ALWAYS AS IDENTITY,
    id                       TEXT NOT NULL,
    customer_id              TEXT NOT NULL,
    intent                   TEXT NOT NULL,
    labels                   JSONB NOT NULL DEFAULT '{}',
    started_at               TIMESTAMPTZ NOT NULL,   -- first touchpoint's occurred_at
    content_hash             BYTEA NOT NULL,
    customer_touchpoints     INT NOT NULL,
    channel_switches         INT NOT NULL,
    failed_self_service      INT NOT NULL,
    transfers                INT NOT NULL,
    repeated_information     INT NOT NULL,
    customer_seconds         BIGINT NOT NULL,
    resolved                 BOOLEAN NOT NULL,
    first_customer_resolved  BOOLEAN NOT NULL,
    has_assisted             BOOLEAN NOT NULL,
    first_assisted_resolved  BOOLEAN NOT NULL,
    distinct_channels        INT NOT NULL,
    PRIMARY KEY (tenant_id, jid),
    UNIQUE (tenant_id, id)
);
CREATE INDEX journeys_time ON journeys (tenant_id, started_at, id);
CREATE INDEX journeys_customer ON journeys (tenant_id, customer_id, started_at);

CREATE TABLE touchpoints (
    tenant_id             BIGINT NOT NULL,
    jid                   BIGINT NOT NULL,
    seq                   SMALLINT NOT NULL,
    channel               SMALLINT NOT NULL,
    initiator             SMALLINT NOT NULL,
    occurred_at           TIMESTAMPTZ NOT NULL,
    duration_seconds      INT NOT NULL,
    wait_seconds          INT NOT NULL,
    outcome               SMALLINT NOT NULL,
    transfers             INT NOT NULL,
    repeated_information  BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, jid, seq),
    FOREIGN KEY (tenant_id, jid) REFERENCES journeys (tenant_id, jid) ON DELETE CASCADE
);
