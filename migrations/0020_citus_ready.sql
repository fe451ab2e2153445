-- A schema Citus can distribute by tenant_id (SPEC §15, issue 16;
-- docs/SCALING.md, docs/decisions/distribution.md).

-- 1. No trigger writes a distributed table from inside a shard. The rollup
-- triggers of 0009/0010 inserted `gap_daily` deltas from a statement on
-- `answers`; on Citus that statement runs on a worker's shard, where a
-- trigger cannot run a distributed query. The write paths now append the
-- same deltas in their own statements (store::rollup::ANSWERS_DELTAS):
-- every INSERT or DELETE of `answers` is a CTE whose RETURNING rows feed
-- the rollup insert, exactly the rows a transition table held.
DROP TRIGGER answers_gap_insert ON answers;
DROP TRIGGER answers_gap_delete ON answers;
DROP TRIGGER answers_gap_update ON answers;
DROP FUNCTION gap_daily_add();
DROP FUNCTION gap_daily_remove();
DROP FUNCTION gap_daily_change();

-- 2. No system-column tricks. The idempotent upserts told an insert from
-- an update by `RETURNING (xmax = 0)`, which a partitioned or distributed
-- table does not answer reliably. Each upserted record now carries a
-- revision: 1 when inserted, +1 by every DO UPDATE that changed it, so
-- `RETURNING revision = 1` is exact (a row another transaction inserted
-- first is updated by this one to 2, hence counted as updated). Existing
-- rows start at 1; a constant default adds the column without a rewrite.
ALTER TABLE survey_responses ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE journeys ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE outcomes ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;

-- 3. The hash-partitioned variant of the schema, which PostgreSQL's own
-- declarative partitioning checks by the same rules as Citus (every unique
-- key holds the partition key). `gapscore_partition_by_tenant()` turns
-- every table of the current schema that has a `tenant_id` column, other
-- than the reference tables, into a table partitioned by
-- HASH (tenant_id): columns, defaults, identity (with its sequence's
-- position), checks, keys and indexes under their own names, triggers,
-- rows, and every foreign key from or to it (between two partitioned
-- tables, one per pair of partitions of the same remainder). The partitions live in the
-- schema `tenant_partitions`, so the current schema lists only logical
-- tables, as Citus hides its shards. Tables already partitioned are left
-- alone: the function can be run again after any later migration.
--
-- It runs only when asked: the last migration (9999) calls it when the
-- session that migrates has `gapscore.partitioned` set to `on` (for
-- example `?options=-c%20gapscore.partitioned%3Don` in the database URL,
-- which is what `scripts/test --partitioned` does), and `store::migrate`
-- calls it again after every run with that setting, so a migration added
-- later still ends partitioned in a database migrated before it.
CREATE SCHEMA tenant_partitions;

CREATE FUNCTION gapscore_partition_by_tenant(
    modulus INT DEFAULT 4,
    reference_tables TEXT[] DEFAULT ARRAY['tenants', 'api_keys']
) RETURNS INT LANGUAGE plpgsql AS $$
DECLARE
    targets OID[];
    target OID;
    tname TEXT;
    old_name TEXT;
    fk RECORD;
    fk_tables TEXT[] := '{}';
    fk_names TEXT[] := '{}';
    fk_defs TEXT[] := '{}';
    fk_from TEXT[] := '{}';
    fk_to TEXT[] := '{}';
    fk_to_tbl TEXT[] := '{}';
    fk_by_tenant BOOLEAN[] := '{}';
    pairwise BOOLEAN;
    k INT;
    replay TEXT[];
    renames TEXT[];
    ddl TEXT;
    columns TEXT;
    ident RECORD;
    new_seq TEXT;
    last_value BIGINT;
    is_called BOOLEAN;
    table_comment TEXT;
    i INT;
BEGIN
    SELECT array_agg(c.oid ORDER BY c.relname) INTO targets
    FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace
      AND c.relkind = 'r' AND NOT c.relispartition
      AND c.relname <> ALL (reference_tables)
      AND EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped);
    IF targets IS NULL THEN
        RETURN 0;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = ANY (targets)) THEN
        RAISE EXCEPTION 'gapscore_partition_by_tenant: row security policies are not carried over';
    END IF;

    -- Foreign keys from or to the tables being replaced, re-added at the end.
    FOR fk IN
        SELECT f.conrelid::regclass::text AS tbl, f.conname, pg_get_constraintdef(f.oid) AS def,
               c.relname::text AS from_name, r.relname::text AS to_name,
               f.confrelid::regclass::text AS to_tbl,
               EXISTS (SELECT 1 FROM unnest(f.conkey, f.confkey) AS k(from_att, to_att)
                       JOIN pg_attribute fa ON fa.attrelid = f.conrelid AND fa.attnum = k.from_att
                       JOIN pg_attribute ta ON ta.attrelid = f.confrelid AND ta.attnum = k.to_att
                       WHERE fa.attname = 'tenant_id' AND ta.attname = 'tenant_id') AS by_tenant
        FROM pg_constraint f
        JOIN pg_class c ON c.oid = f.conrelid
        JOIN pg_class r ON r.oid = f.confrelid
        WHERE f.contype = 'f' AND f.conparentid = 0
          AND (f.conrelid = ANY (targets) OR f.confrelid = ANY (targets))
        ORDER BY 1, 2
    LOOP
        fk_tables := fk_tables || fk.tbl;
        fk_names := fk_names || fk.conname::text;
        fk_defs := fk_defs || fk.def;
        fk_from := fk_from || fk.from_name;
        fk_to := fk_to || fk.to_name;
        fk_to_tbl := fk_to_tbl || fk.to_tbl;
        fk_by_tenant := fk_by_tenant || fk.by_tenant;
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname);
    END LOOP;

    FOREACH target IN ARRAY targets LOOP
        tname := (SELECT relname FROM pg_class WHERE oid = target);
        old_name := left(tname, 40) || '__unpartitioned';
        -- What the new table gets back under the same names: keys first,
        -- then the other indexes, then triggers.
        SELECT coalesce(array_agg(format('ALTER TABLE %I ADD CONSTRAINT %I %s',
                                         tname, conname, pg_get_constraintdef(oid))
                                  ORDER BY contype, conname), '{}')
        INTO replay
        FROM pg_constraint WHERE conrelid = target AND contype IN ('p', 'u', 'x');
        SELECT replay || coalesce(array_agg(pg_get_indexdef(i.indexrelid) ORDER BY i.indexrelid), '{}')
        INTO replay
        FROM pg_index i
        WHERE i.indrelid = target
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                          WHERE c.conrelid = target AND c.conindid = i.indexrelid);
        SELECT replay || coalesce(array_agg(pg_get_triggerdef(t.oid) ORDER BY t.tgname), '{}')
        INTO replay
        FROM pg_trigger t WHERE t.tgrelid = target AND NOT t.tgisinternal;
        table_comment := obj_description(target, 'pg_class');
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO columns
        FROM pg_attribute
        WHERE attrelid = target AND attnum > 0 AND NOT attisdropped AND attgenerated = '';

        EXECUTE format('ALTER TABLE %I RENAME TO %I', tname, old_name);
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING ALL EXCLUDING INDEXES)
                        PARTITION BY HASH (tenant_id)', tname, old_name);
        FOR i IN 0 .. modulus - 1 LOOP
            EXECUTE format('CREATE TABLE tenant_partitions.%I PARTITION OF %I
                            FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
                           tname || '_p' || i, tname, modulus, i);
        END LOOP;
        EXECUTE format('INSERT INTO %I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %I',
                       tname, columns, columns, old_name);
        -- Identity sequences continue where the old ones stood, and take
        -- their names once the old table (which owns them) is gone.
        renames := '{}';
        FOR ident IN
            SELECT attname, pg_get_serial_sequence(quote_ident(old_name), attname) AS old_seq
            FROM pg_attribute
            WHERE attrelid = target AND attidentity <> '' AND NOT attisdropped
        LOOP
            new_seq := pg_get_serial_sequence(quote_ident(tname), ident.attname);
            EXECUTE format('SELECT last_value, is_called FROM %s', ident.old_seq)
                INTO last_value, is_called;
            PERFORM setval(new_seq, last_value, is_called);
            renames := renames || format('ALTER SEQUENCE %s RENAME TO %I', new_seq,
                (SELECT relname FROM pg_class WHERE oid = ident.old_seq::regclass));
        END LOOP;
        EXECUTE format('DROP TABLE %I', old_name);
        replay := renames || replay;
        FOREACH ddl IN ARRAY replay LOOP
            EXECUTE ddl;
        END LOOP;
        IF table_comment IS NOT NULL THEN
            EXECUTE format('COMMENT ON TABLE %I IS %L', tname, table_comment);
        END IF;
    END LOOP;

    -- A foreign key between two tables partitioned alike that joins on
    -- tenant_id holds between the partitions of the same remainder, as
    -- Citus keeps it between colocated shards: one key per pair of
    -- partitions, under the key's name, so a check reads one plain
    -- table (against a partitioned parent, PostgreSQL 15 spends several
    -- times as long on each row's check). Any other key is re-added as
    -- it was.
    FOR i IN 1 .. coalesce(array_length(fk_defs, 1), 0) LOOP
        pairwise := fk_by_tenant[i];
        FOR k IN 0 .. modulus - 1 LOOP
            pairwise := pairwise
                AND to_regclass(format('tenant_partitions.%I', fk_from[i] || '_p' || k)) IS NOT NULL
                AND to_regclass(format('tenant_partitions.%I', fk_to[i] || '_p' || k)) IS NOT NULL;
        END LOOP;
        pairwise := pairwise
            AND (SELECT count(*) FROM pg_inherits WHERE inhparent = fk_tables[i]::regclass) = modulus
            AND (SELECT count(*) FROM pg_inherits WHERE inhparent = fk_to_tbl[i]::regclass) = modulus
            AND position(' REFERENCES ' || fk_to_tbl[i] || '(' IN fk_defs[i]) > 0;
        IF pairwise THEN
            FOR k IN 0 .. modulus - 1 LOOP
                EXECUTE format('ALTER TABLE tenant_partitions.%I ADD CONSTRAINT %I %s',
                    fk_from[i] || '_p' || k, fk_names[i],
                    replace(fk_defs[i], ' REFERENCES ' || fk_to_tbl[i] || '(',
                            format(' REFERENCES tenant_partitions.%I(', fk_to[i] || '_p' || k)));
            END LOOP;
        ELSE
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk_tables[i], fk_names[i], fk_defs[i]);
        END IF;
    END LOOP;
    RETURN array_length(targets, 1);
END $$;
