-- Closing the loop (SPEC §12.1): each customer's current tier, kept at
-- write time, and the transactional outbox of at-risk events.

-- 1. A customer's current tier: their tier (SPEC §7.1) over the rolling
-- `risk_window_days` ending at the last write that touched them, written
-- in that write's transaction. It is what a write compares its result
-- with to tell whether it raised the tier.
CREATE TABLE customer_tiers (
    tenant_id    BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    customer_id  TEXT NOT NULL,
    tier         SMALLINT NOT NULL,                 -- gapscore.v1.EffortTier
    tier_source  SMALLINT NOT NULL,                 -- gapscore.v1.TierSource
    assessed_at  TIMESTAMPTZ NOT NULL,
    -- Bumped by every write of the row: a write that saw version N before
    -- its upsert and finds another one after knows a concurrent write of
    -- the same customer committed in between (service::tiers).
    version      BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, customer_id)
);

-- 2. The per-tenant event sequence. A write that records events takes
-- its tenant's row lock here as its last statement and holds it until it
-- commits, so sequence numbers are handed out in commit order: once event
-- N is visible, every event before it is too. That is what lets a watch
-- or a webhook worker resume after N with nothing missed or repeated.
-- `purged_seq`: the highest sequence number retention deleted (every event
-- up to it is gone, every later one is kept), so a watch resuming after an
-- earlier number is told OUT_OF_RANGE instead of silently missing events.
CREATE TABLE event_counters (
    tenant_id   BIGINT PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
    last_seq    BIGINT NOT NULL,
    purged_seq  BIGINT NOT NULL DEFAULT 0
);

-- 3. The outbox: one row per event, in the transaction of the write that
-- raised the tier; kept `event_retention_days`.
CREATE TABLE at_risk_events (
    tenant_id      BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    seq            BIGINT NOT NULL,
    event_id       UUID NOT NULL,
    customer_id    TEXT NOT NULL,
    tier           SMALLINT NOT NULL,               -- gapscore.v1.EffortTier
    previous_tier  SMALLINT NOT NULL,               -- 0: not assessed before
    tier_source    SMALLINT NOT NULL,               -- gapscore.v1.TierSource
    reasons        TEXT[] NOT NULL,
    journey_id     TEXT,
    response_id    TEXT,
    holdout        BOOLEAN NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    UNIQUE (tenant_id, event_id)
);
CREATE INDEX at_risk_events_customer ON at_risk_events (tenant_id, customer_id);
CREATE INDEX at_risk_events_occurred ON at_risk_events (occurred_at);

-- 4. Every time a write raised a customer to HIGH, kept as long as the
-- customer's data (erasure removes it), not `event_retention_days`: it is
-- the population of the follow-up effect (SPEC §12.2), whose outcomes are
-- counted over the 90 days after, and the record of who was held out at
-- the time (`holdout` under the share in force then).
CREATE TABLE high_tier_starts (
    tenant_id    BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    customer_id  TEXT NOT NULL,
    seq          BIGINT NOT NULL,                   -- the event's at_risk_events.seq
    started_at   TIMESTAMPTZ NOT NULL,
    holdout      BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, seq)
);
CREATE INDEX high_tier_starts_started ON high_tier_starts (tenant_id, started_at);

-- 5. A scoring-model change recomputes every current tier in the
-- background, in bounded batches by customer id. The row says which model
-- (etag) the tiers were brought to and how far the pass got: a model whose
-- etag differs (changed on any replica, even just before a crash) starts a
-- pass from the first customer, an unfinished pass resumes after a restart.
CREATE TABLE tier_recomputes (
    tenant_id       BIGINT PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
    model_etag      TEXT NOT NULL,
    after_customer  TEXT NOT NULL,
    done            BOOLEAN NOT NULL
);
