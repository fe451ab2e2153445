-- Whole-history assessments (issue 12, issue 11 finding 13; SPEC §7.1,
-- docs/decisions/assessments.md): GetLoyaltyRisk and ListAtRiskCustomers
-- re-assessed every customer on every call, so a page of at-risk customers
-- cost O(customers). Each write now keeps, in its own transaction, the
-- assessment of its customers over all of their history under the model in
-- force; a read whose scope is the whole history (no label filter, a window
-- covering every record) reads these rows instead.

-- 1. One row per assessed customer. `model_etag` is the etag of the scoring
-- model the row was computed under (for inspection: reads rely on
-- `assessed_under`; store::assessments says why that suffices).
-- `rank_tier` and `rank_worst` turn the at-risk order (tier descending,
-- worst effort index or 0 descending, id ascending in byte order) into an
-- ascending key, so a page after a position is one range scan of
-- `assessments_at_risk` with a row comparison and a LIMIT.
CREATE TABLE assessments (
    tenant_id                BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    customer_id              TEXT COLLATE "C" NOT NULL,
    tier                     SMALLINT NOT NULL,  -- gapscore.v1.EffortTier
    tier_source              SMALLINT NOT NULL,  -- gapscore.v1.TierSource
    latest_ease              INTEGER,
    latest_ease_response_id  TEXT,
    worst_effort_index       DOUBLE PRECISION,
    worst_journey_id         TEXT,
    model_etag               TEXT NOT NULL,
    rank_tier                SMALLINT GENERATED ALWAYS AS (-tier) STORED,
    rank_worst               DOUBLE PRECISION
                             GENERATED ALWAYS AS (-coalesce(worst_effort_index, 0)) STORED,
    PRIMARY KEY (tenant_id, customer_id)
);
CREATE INDEX assessments_at_risk
    ON assessments (tenant_id, rank_tier, rank_worst, customer_id);

-- 2. Per tenant, the model under which every customer with records was last
-- assessed by a complete pass: the background recompute (after a model
-- change, and the first one of a new or cleared tenant), or the
-- benchmark's COPY loader. A read uses the rows only when this is the model
-- in force: one primary-key lookup.
CREATE TABLE assessed_under (
    tenant_id   BIGINT PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
    model_etag  TEXT NOT NULL
);

-- 3. Existing tenants have records but no rows yet: forgetting the
-- recompute passes makes the background pass run again for every tenant,
-- which now also fills `assessments` and, at its end,
-- `assessed_under` (re-storing the current tiers on the way, without
-- events, as after any model change).
DELETE FROM tier_recomputes;
