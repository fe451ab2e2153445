-- Operating tenants (SPEC §14): removing a tenant, label filters served by
-- an index, and the key that makes at-risk page tokens opaque.

-- 1. A tenant can be deleted (`gapscore tenant delete`). Deleting the
-- tenant row cascades to its responses and so to their answers, whose
-- delete trigger (0009) appended negative rollup deltas for a tenant that
-- no longer exists, violating `gap_daily`'s foreign key. The rollup of a
-- tenant being removed goes with it (`gap_daily` cascades too), so its
-- deltas are simply not written: the rows of a key are grouped first and
-- only groups whose tenant still exists are kept. In the cascade the
-- tenant row is already deleted in this command's snapshot, so the check
-- sees it gone; an erasure or re-send of a live tenant sees it present.
CREATE OR REPLACE FUNCTION gap_daily_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gap_daily (tenant_id, day, question, role, score, survey_id, answers)
    SELECT d.tenant_id, d.day, d.question, d.role, d.score, d.survey_id, d.answers
    FROM (
        SELECT tenant_id, (submitted_at AT TIME ZONE 'UTC')::date AS day, question, role,
               score, survey_id, -count(*) AS answers
        FROM gap_old WHERE score IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6
    ) d
    WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.tenant_id = d.tenant_id);
    RETURN NULL;
END $$;

-- 2. `List*` and scoring label filters (`labels @> '{"k":"v"}'`) had no
-- index: a selective label made a list scan every row of the tenant.
-- jsonb_path_ops indexes exactly the containment operator the filters use
-- and is a fraction of the default GIN opclass's size. The tenant is not
-- in these indexes (that would need btree_gin); PostgreSQL ANDs the label
-- bitmap with the tenant's own index when both are selective.
CREATE INDEX survey_responses_labels ON survey_responses USING gin (labels jsonb_path_ops);
CREATE INDEX journeys_labels ON journeys USING gin (labels jsonb_path_ops);

-- 3. The per-tenant key of opaque page tokens (service::page::seal): 32
-- random bytes (two v4 UUIDs, 244 random bits), drawn per row, so existing
-- tenants get one each. In the database, not a flag, so every replica
-- seals and opens the same tokens without configuration, and deleting the
-- tenant deletes its key.
ALTER TABLE tenants ADD COLUMN page_token_key BYTEA NOT NULL
    DEFAULT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');
