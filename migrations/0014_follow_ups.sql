-- Follow-ups of customers (SPEC §12.2): what a helpdesk did after a
-- customer was raised to HIGH, so GetFollowUpEffect can compare the
-- outcomes of the customers followed up with those of the holdout.
CREATE TABLE follow_ups (
    tenant_id    BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    id           TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    action       SMALLINT NOT NULL,                 -- gapscore.v1.FollowUpAction
    occurred_at  TIMESTAMPTZ NOT NULL,
    event_id     UUID,                              -- the AtRiskEvent it answered
    -- 1 when first written, +1 each time a re-send changed its content: a
    -- batch tells inserted (1) from updated (> 1) by the row it wrote.
    revision     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id)
);
-- The effect's probe: a customer's first follow-up after a raise to HIGH.
CREATE INDEX follow_ups_customer ON follow_ups (tenant_id, customer_id, occurred_at);

-- The effect's other probe: did the outcome occur in the 90 days after?
CREATE INDEX outcomes_occurred ON outcomes (tenant_id, customer_id, kind, observed_at)
    WHERE occurred;
