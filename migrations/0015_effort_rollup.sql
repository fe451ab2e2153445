-- A daily rollup of CUSTOMER touchpoints per channel for GetEffortIndex
-- (SPEC §6, issue 12; store::effort, docs/decisions/effort-rollup.md).
--
-- The effort report's channel table sums, per channel, the customer
-- touchpoints of the journeys that started in the window: additive per
-- (UTC day of the journey's started_at, channel), so a window of whole
-- days reads a few rows per day instead of joining every journey to its
-- touchpoints. Partial edge days, and any scope with labels or an intent
-- (conditions on the journey the rollup does not keep), still come from
-- the raw rows, so results are exact for any scope.
--
-- The same append-only log of signed deltas as `gap_daily` (0009): every
-- statement that inserts or deletes touchpoints appends the deltas of the
-- rows it changed (a CTE with RETURNING, store::effort_rollup), readers
-- sum, and the compactor folds the pending deltas into one `compacted`
-- row per key. No writer updates a rollup row, so concurrent ingest never
-- waits on a shared counter.
--
-- A touchpoint carries a copy of its journey's `started_at` (as answers
-- carry `submitted_at`): when a re-sent journey's old touchpoints are
-- deleted, the journey row already holds the new start, and the deleted
-- rows must say which day they counted in.
ALTER TABLE touchpoints ADD COLUMN journey_started_at TIMESTAMPTZ;
UPDATE touchpoints t SET journey_started_at = j.started_at
FROM journeys j
WHERE j.tenant_id = t.tenant_id AND j.jid = t.jid;
ALTER TABLE touchpoints ALTER COLUMN journey_started_at SET NOT NULL;

CREATE TABLE effort_daily (
    tenant_id     BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    -- The UTC date of the journeys' started_at.
    day           DATE NOT NULL,
    -- `gapscore.v1.Channel`.
    channel       SMALLINT NOT NULL,
    -- Signed: a delete adds negative rows until compaction.
    touchpoints   BIGINT NOT NULL,
    -- Touchpoints whose outcome is not RESOLVED.
    unresolved    BIGINT NOT NULL,
    wait_seconds  BIGINT NOT NULL,
    compacted     BOOLEAN NOT NULL DEFAULT false
);
-- Reads: one range of days per tenant, index-only.
CREATE INDEX effort_daily_day ON effort_daily (tenant_id, day)
    INCLUDE (channel, touchpoints, unresolved, wait_seconds);
-- As gap_daily: pending deltas found without a scan, one folded row per
-- key, folded keys that reached zero removed after each fold.
CREATE INDEX effort_daily_pending ON effort_daily (tenant_id) WHERE NOT compacted;
CREATE UNIQUE INDEX effort_daily_folded ON effort_daily (tenant_id, day, channel)
    WHERE compacted;
CREATE INDEX effort_daily_zero ON effort_daily (tenant_id)
    WHERE compacted AND touchpoints = 0 AND unresolved = 0 AND wait_seconds = 0;

-- Existing touchpoints, already folded (initiator 1 = CUSTOMER, outcome
-- 1 = RESOLVED, as store::effort_rollup writes them).
INSERT INTO effort_daily (tenant_id, day, channel, touchpoints, unresolved, wait_seconds, compacted)
SELECT tenant_id, (journey_started_at AT TIME ZONE 'UTC')::date, channel, count(*),
       count(*) FILTER (WHERE outcome <> 1), coalesce(sum(wait_seconds), 0), true
FROM touchpoints WHERE initiator = 1
GROUP BY 1, 2, 3;
