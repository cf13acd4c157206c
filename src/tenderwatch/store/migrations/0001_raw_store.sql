-- The raw store: every release as received, every reject with its reason, and the work still to do.
-- Nothing here is ever rewritten by a load; compiled and normalised tables are rebuilt from it.

CREATE TABLE loads (
    load_id BIGINT PRIMARY KEY,
    command VARCHAR,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    tenderwatch_version VARCHAR
);

CREATE TABLE packages (
    package_hash VARCHAR,
    metadata VARCHAR USING COMPRESSION zstd
);

CREATE TABLE raw_releases (
    seq BIGINT,
    hash VARCHAR,
    ocid VARCHAR,
    release_id VARCHAR,
    release_date VARCHAR,
    kind VARCHAR,
    tags VARCHAR[],
    source VARCHAR,
    member VARCHAR,
    line BIGINT,
    byte_offset BIGINT,
    pointer VARCHAR,
    package_hash VARCHAR,
    data VARCHAR USING COMPRESSION zstd,
    load_id BIGINT,
    loaded_at TIMESTAMPTZ
);

CREATE TABLE rejects (
    reject_key VARCHAR,
    scope VARCHAR,
    code VARCHAR,
    source VARCHAR,
    member VARCHAR,
    line BIGINT,
    byte_offset BIGINT,
    pointer VARCHAR,
    ocid VARCHAR,
    release_id VARCHAR,
    field VARCHAR,
    value VARCHAR,
    reason VARCHAR,
    data VARCHAR USING COMPRESSION zstd,
    load_id BIGINT,
    rejected_at TIMESTAMPTZ
);

CREATE TABLE pending (
    ocid VARCHAR
);

CREATE TABLE compiled_releases (
    ocid VARCHAR,
    method VARCHAR,
    release_count INTEGER,
    release_ids VARCHAR[],
    first_release_date VARCHAR,
    last_release_date VARCHAR,
    latest_release_id VARCHAR,
    latest_package_hash VARCHAR,
    release_tags VARCHAR[],
    data VARCHAR USING COMPRESSION zstd
);
