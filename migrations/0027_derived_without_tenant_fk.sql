-- The delta logs drop their foreign key to `tenants` (issue 12, the ingest
-- profile in BENCHMARKS.md, "The first 10M run of 2026-12-04"): a foreign key
-- is checked by a trigger per inserted row, and these tables take a row
-- per answer (gap_daily, gap_label_rollup), per framed answer, per
-- response (case_daily), per journey day and channel (effort_daily) and
-- per tier (tier_count_log). On a batch of 1,000 responses the checks of
-- gap_daily and gap_label_rollup alone were 34-47 ms of a 390 ms
-- statement (EXPLAIN ANALYZE on a kept 10M bench database).
--
-- What the key gave besides integrity, and what replaces it:
-- * the cascade of a tenant delete: `store::tenants::delete_tenant`
--   empties every table with a tenant_id explicitly after the cascade;
-- * a key-share lock on the tenant row in every transaction that appends
--   deltas, which a tenant clear relies on (no delta committed between
--   the clear's delete of the records and of the rollup): every write
--   transaction of the service now takes that lock itself, first
--   (`store::tenants::hold`), as the compactor's fold already did.
--
-- `gap_label_month` keeps its key: only the fold writes it, a few rows.
ALTER TABLE gap_daily DROP CONSTRAINT gap_daily_tenant_id_fkey;
ALTER TABLE gap_label_rollup DROP CONSTRAINT gap_label_rollup_tenant_id_fkey;
ALTER TABLE case_daily DROP CONSTRAINT case_daily_tenant_id_fkey;
ALTER TABLE frame_daily DROP CONSTRAINT frame_daily_tenant_id_fkey;
ALTER TABLE effort_daily DROP CONSTRAINT effort_daily_tenant_id_fkey;
ALTER TABLE tier_count_log DROP CONSTRAINT tier_count_log_tenant_id_fkey;
