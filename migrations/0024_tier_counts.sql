-- Whole-history tier counts as a signed delta log (issue 12;
-- docs/decisions/assessments.md, "Tier counts"): GetLoyaltyRisk over the
-- whole history counted the tenant's `assessments` rows per tier, an
-- index-only GROUP BY over every customer (129 ms at 10M answers, 7.7 ms
-- at 100k). The statements that write `assessments` now also append, in
-- the same statement, one signed row per tier they changed, and readers sum
-- the tenant's rows: at most three folded rows and the pending deltas since
-- the last fold.

-- 1. The tier a row held before the update that last changed it (NULL for
-- a row not updated since its insert). `ON CONFLICT DO UPDATE` sets it from
-- the conflicting row, which PostgreSQL has locked in its latest committed
-- version, so the upsert's RETURNING says exactly which tier each updated
-- row left, whatever the statement's snapshot saw (store::assessments).
-- A nullable column without a default: no rewrite.
ALTER TABLE assessments ADD COLUMN prior_tier SMALLINT;

-- 2. The log: per tenant and tier (gapscore.v1.EffortTier), signed counts
-- of customers; the same shape and index family as gap_daily (0009). Ingest
-- appends pending rows only; the compactor (store::rollup::compact) moves
-- them into the one folded row per (tenant, tier).
CREATE TABLE tier_count_log (
    tenant_id  BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    tier       SMALLINT NOT NULL,
    customers  BIGINT NOT NULL,
    compacted  BOOLEAN NOT NULL DEFAULT false
);
-- Readers and the compactor find a tenant's pending deltas by this
-- predicate, and its folded rows by the next one.
CREATE INDEX tier_count_log_pending ON tier_count_log (tenant_id) WHERE NOT compacted;
CREATE UNIQUE INDEX tier_count_log_folded ON tier_count_log (tenant_id, tier) WHERE compacted;
-- Tiers whose customers all left, removed after each fold.
CREATE INDEX tier_count_log_zero ON tier_count_log (tenant_id) WHERE compacted AND customers = 0;

-- 3. Existing rows, already folded. A server built before this migration
-- writes `assessments` without the log: stop every old instance before the
-- first new one migrates (as for 0022).
INSERT INTO tier_count_log (tenant_id, tier, customers, compacted)
SELECT tenant_id, tier, count(*), true
FROM assessments
GROUP BY tenant_id, tier;
