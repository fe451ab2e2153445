-- Tenants and their API keys. Every other table is keyed by tenant_id first,
-- so the store can later be partitioned or distributed by tenant.
CREATE TABLE tenants (
    tenant_id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Keys are shown once and stored only as a SHA-256 hash; key_id is the
-- public part of the key used to find the row before a constant-time compare.
CREATE TABLE api_keys (
    tenant_id   BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    key_id      TEXT NOT NULL,
    key_hash    BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at  TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, key_id)
);
CREATE UNIQUE INDEX api_keys_key_id ON api_keys (key_id);
