-- The hash-partitioned variant of the schema (0020), when the migrating
-- session asks for it with `gapscore.partitioned = on`; otherwise nothing.
--
-- Numbered last on purpose: a fresh database runs every migration first,
-- so the tables of migrations added later (numbered below 9999) are
-- partitioned too. A database migrated before such a migration existed
-- gets it afterwards (sqlx applies a missing lower version), and
-- `store::migrate` calls the function again after every run. New
-- migrations take the next number after the highest one below 9999.
DO $$
BEGIN
    IF coalesce(current_setting('gapscore.partitioned', true), '') = 'on' THEN
        PERFORM gapscore_partition_by_tenant();
    END IF;
END $$;
