-- Each journey's effort under the model in force, and a daily rollup of it
-- by index bin, so GetEffortIndex's journey figures (counts, sums, tiers,
-- exact percentiles, distinct customers) stop reading every journey in
-- the window (issue 12; store::journey_efforts,
-- docs/decisions/effort-rollup.md).
--
-- 1. `journey_efforts`: one row per journey, the index, tier and component
--    points under the model of `model_etag`, with the model-independent
--    figures the report sums. Written by the statement that rewrites the
--    customers' whole-history assessments (store::assessments), so it has
--    exactly their guarantees: every write of a customer rewrites the rows
--    of the customer's journeys under the model it read with the
--    customer's tier lock held, and after a model change the recompute
--    pass rewrites them all before `assessed_under` records the new model.
--    `first_of_customer` marks each customer's earliest journey (by
--    started_at, then jid): summed over a window that starts before the
--    tenant's first journey, it is the number of distinct customers.
CREATE TABLE journey_efforts (
    tenant_id                BIGINT NOT NULL,
    jid                      BIGINT NOT NULL,
    customer_id              TEXT NOT NULL,
    started_at               TIMESTAMPTZ NOT NULL,
    model_etag               TEXT NOT NULL,
    effort_index             FLOAT8 NOT NULL,
    -- floor(effort_index): the rollup's key and the percentile lookup's.
    bin                      SMALLINT NOT NULL,
    -- `gapscore.v1.EffortTier` (1 LOW, 2 MEDIUM, 3 HIGH).
    tier                     SMALLINT NOT NULL,
    -- The points of the seven components (store::effort_sql order).
    p0 FLOAT8 NOT NULL, p1 FLOAT8 NOT NULL, p2 FLOAT8 NOT NULL, p3 FLOAT8 NOT NULL,
    p4 FLOAT8 NOT NULL, p5 FLOAT8 NOT NULL, p6 FLOAT8 NOT NULL,
    customer_touchpoints     INT NOT NULL,
    channel_switches         INT NOT NULL,
    customer_seconds         BIGINT NOT NULL,
    resolved                 BOOLEAN NOT NULL,
    has_assisted             BOOLEAN NOT NULL,
    first_assisted_resolved  BOOLEAN NOT NULL,
    first_customer_resolved  BOOLEAN NOT NULL,
    first_of_customer        BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, jid)
);
-- An erasure finds the customer's rows (a write finds them by jid, from
-- the customers' journeys; the partial days at a window's edges too).
CREATE INDEX journey_efforts_customer ON journey_efforts (tenant_id, customer_id);
-- A percentile's value: the k-th index of one bin in the window, index-only.
CREATE INDEX journey_efforts_rank ON journey_efforts (tenant_id, model_etag, bin, effort_index)
    INCLUDE (started_at);

-- 2. The daily rollup: the same append-only signed delta log as
--    `effort_daily` (0015), appended by the statement that writes the rows
--    from what it changed, folded by the compactor. No foreign key to
--    `tenants` (0027 says why and what replaces it).
CREATE TABLE journey_effort_daily (
    tenant_id     BIGINT NOT NULL,
    -- The UTC date of the journeys' started_at.
    day           DATE NOT NULL,
    model_etag    TEXT NOT NULL,
    bin           SMALLINT NOT NULL,
    tier          SMALLINT NOT NULL,
    -- Signed: a rewrite or delete adds negative rows until compaction.
    journeys      BIGINT NOT NULL,
    -- Sums of float8 values as `numeric` (each value converted as
    -- PostgreSQL does, then added exactly): the same in any order of
    -- deltas and folds, and equal to the raw query's, which sums the same
    -- way (store::effort).
    index_sum     NUMERIC NOT NULL,
    index_sum_sq  NUMERIC NOT NULL,
    p0 NUMERIC NOT NULL, p1 NUMERIC NOT NULL, p2 NUMERIC NOT NULL, p3 NUMERIC NOT NULL,
    p4 NUMERIC NOT NULL, p5 NUMERIC NOT NULL, p6 NUMERIC NOT NULL,
    contacts      BIGINT NOT NULL,
    switches      BIGINT NOT NULL,
    seconds       BIGINT NOT NULL,
    unresolved    BIGINT NOT NULL,
    assisted      BIGINT NOT NULL,
    fcr           BIGINT NOT NULL,
    one_touch     BIGINT NOT NULL,
    -- Journeys that are their customer's first.
    customers     BIGINT NOT NULL,
    compacted     BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX journey_effort_daily_day ON journey_effort_daily (tenant_id, model_etag, day);
CREATE INDEX journey_effort_daily_pending ON journey_effort_daily (tenant_id) WHERE NOT compacted;
CREATE UNIQUE INDEX journey_effort_daily_folded
    ON journey_effort_daily (tenant_id, day, model_etag, bin, tier) WHERE compacted;
-- A key with no journeys left has every sum zero.
CREATE INDEX journey_effort_daily_zero ON journey_effort_daily (tenant_id)
    WHERE compacted AND journeys = 0;

-- 3. Existing tenants have journeys but no rows yet: their whole-history
-- state is no longer complete under any model, so reads take the raw path
-- until the recompute pass, which forgetting the passes runs again for
-- every tenant (as 0016 did), has walked them all and recorded the model
-- in `assessed_under` again.
DELETE FROM assessed_under;
DELETE FROM tier_recomputes;
