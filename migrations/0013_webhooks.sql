-- Webhooks (SPEC §12.1): subscriptions of a tenant's at-risk events, and
-- the delivery of each event to each subscription, fed from the outbox
-- (`at_risk_events`) by the background worker (src/webhooks/). Every key
-- starts with tenant_id, and nothing here is written by a trigger.

CREATE TABLE webhooks (
    tenant_id       BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    webhook_id      UUID NOT NULL,
    url             TEXT NOT NULL,
    min_tier        SMALLINT NOT NULL,              -- gapscore.v1.EffortTier
    -- The HMAC key itself (shown once as `whsec_` + base64): signing needs
    -- it, so unlike an API key it cannot be kept as a hash.
    secret          BYTEA NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    -- The last event seq of the tenant already fanned out to this webhook
    -- (a delivery row exists for each event after the webhook's creation up
    -- to here that met min_tier). Sequence numbers are handed out in commit
    -- order (0012), so every event after it is still to come.
    fanned_out_seq  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, webhook_id)
);
CREATE INDEX webhooks_created ON webhooks (tenant_id, created_at, webhook_id);

-- One event's delivery to one webhook. Deleting the webhook or the event
-- (erasure of the customer, retention) deletes it, so a pending delivery
-- of either simply stops.
CREATE TABLE webhook_deliveries (
    tenant_id        BIGINT NOT NULL,
    webhook_id       UUID NOT NULL,
    seq              BIGINT NOT NULL,
    status           SMALLINT NOT NULL,             -- gapscore.v1.DeliveryStatus
    attempts         INT NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL,          -- retries stop 24 h after
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    -- A claimed attempt's lease: no other worker takes the delivery before
    -- it ends, and a killed worker's claim simply runs out.
    locked_until     TIMESTAMPTZ,
    last_error       TEXT,
    last_attempt_at  TIMESTAMPTZ,
    delivered_at     TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, webhook_id, seq),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, seq) REFERENCES at_risk_events (tenant_id, seq) ON DELETE CASCADE
);
-- What the worker claims: pending deliveries by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 1;
-- The cascade from a deleted event (the log is read by the primary key).
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (tenant_id, seq);
-- Attempts in flight per webhook (the claim takes none of a webhook that
-- has one); a finished attempt clears its lease.
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (tenant_id, webhook_id)
    WHERE locked_until IS NOT NULL;
