-- Several OpenRouter accounts in one store (issue 20). Every fact table and every per-account reference table
-- gets an `account` column, part of its primary key: two accounts may hold the same day, model, workspace id
-- or member. Existing rows belong to the account `default` (what one OPENROUTER_MANAGEMENT_KEY is called).
-- Shared: the model catalogue, endpoint health, app labels, generation tags (generation ids are global),
-- the alerts' and reports' own tables (a budget's scope names an account), the derived rollups.
--
-- A new row's account is the writer's current one (queries.accounts.use sets the session variable
-- `orusage_account`): every write of one ingest unit is for one account, and no statement has to carry it.
-- The default falls back to `default` for a connection that never chose one (a store written by plain SQL).
--
-- DuckDB cannot change a primary key in place, so each table is rebuilt and renamed; views read the new
-- table by name.

CREATE TABLE activity__accounts (
    date DATE,
    model VARCHAR NOT NULL,
    model_permaslug VARCHAR,
    endpoint_id VARCHAR,
    provider_name VARCHAR NOT NULL,
    requests BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    usage DOUBLE NOT NULL,
    byok_usage_inference DOUBLE NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, date, model_permaslug, endpoint_id)
);
INSERT INTO activity__accounts BY NAME SELECT *, 'default' AS account FROM activity;
DROP TABLE activity;
ALTER TABLE activity__accounts RENAME TO activity;

CREATE TABLE activity_by_key__accounts (
    date DATE,
    api_key_hash VARCHAR,
    model VARCHAR NOT NULL,
    model_permaslug VARCHAR,
    endpoint_id VARCHAR,
    provider_name VARCHAR NOT NULL,
    requests BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    usage DOUBLE NOT NULL,
    byok_usage_inference DOUBLE NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, date, api_key_hash, model_permaslug, endpoint_id)
);
INSERT INTO activity_by_key__accounts BY NAME SELECT *, 'default' AS account FROM activity_by_key;
DROP TABLE activity_by_key;
ALTER TABLE activity_by_key__accounts RENAME TO activity_by_key;

CREATE TABLE analytics_daily__accounts (
    date DATE,
    dimensions VARCHAR,
    dim_key VARCHAR,
    model VARCHAR,
    app VARCHAR,
    api_key_hash VARCHAR,
    provider VARCHAR,
    workspace VARCHAR,
    "user" VARCHAR,
    user_email VARCHAR,
    external_user VARCHAR,
    request_count BIGINT,
    tokens_total BIGINT,
    tokens_prompt BIGINT,
    tokens_completion BIGINT,
    reasoning_tokens BIGINT,
    cached_tokens BIGINT,
    byok_request_count BIGINT,
    total_usage DOUBLE,
    byok_usage DOUBLE,
    credits_usage DOUBLE,
    usage_upstream DOUBLE,
    usage_cache DOUBLE,
    usage_data DOUBLE,
    usage_web DOUBLE,
    usage_upstream_web DOUBLE,
    openrouter_usage DOUBLE,
    byok_fees DOUBLE,
    usage_file DOUBLE,
    usage_web_fetch DOUBLE,
    avg_latency DOUBLE,
    p50_latency DOUBLE,
    p90_latency DOUBLE,
    p99_latency DOUBLE,
    avg_throughput DOUBLE,
    p50_throughput DOUBLE,
    p90_throughput DOUBLE,
    p99_throughput DOUBLE,
    cache_hit_rate DOUBLE,
    guardrail_invoked_count BIGINT,
    response_cached_count BIGINT,
    ingested_at TIMESTAMP NOT NULL,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, dimensions, date, dim_key)
);
INSERT INTO analytics_daily__accounts BY NAME SELECT *, 'default' AS account FROM analytics_daily;
DROP TABLE analytics_daily;
ALTER TABLE analytics_daily__accounts RENAME TO analytics_daily;

CREATE TABLE analytics_hourly__accounts (
    "hour" TIMESTAMP,
    dimensions VARCHAR,
    dim_key VARCHAR,
    model VARCHAR,
    provider VARCHAR,
    app VARCHAR,
    "user" VARCHAR,
    user_email VARCHAR,
    request_count BIGINT,
    total_usage DOUBLE,
    byok_usage DOUBLE,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, dimensions, "hour", dim_key)
);
INSERT INTO analytics_hourly__accounts BY NAME SELECT *, 'default' AS account FROM analytics_hourly;
DROP TABLE analytics_hourly;
ALTER TABLE analytics_hourly__accounts RENAME TO analytics_hourly;

CREATE TABLE analytics_hourly_fetches__accounts (
    dimensions VARCHAR,
    first_hour TIMESTAMP NOT NULL,
    fetched_at TIMESTAMP NOT NULL,
    rows_received BIGINT NOT NULL,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, dimensions)
);
INSERT INTO analytics_hourly_fetches__accounts BY NAME SELECT *, 'default' AS account FROM analytics_hourly_fetches;
DROP TABLE analytics_hourly_fetches;
ALTER TABLE analytics_hourly_fetches__accounts RENAME TO analytics_hourly_fetches;

CREATE TABLE api_key_snapshots__accounts (
    fetched_at TIMESTAMP,
    hash VARCHAR,
    "name" VARCHAR NOT NULL,
    "label" VARCHAR NOT NULL,
    disabled BOOLEAN NOT NULL,
    "limit" DOUBLE,
    limit_remaining DOUBLE,
    usage DOUBLE,
    usage_daily DOUBLE,
    usage_weekly DOUBLE,
    usage_monthly DOUBLE,
    byok_usage DOUBLE,
    byok_usage_daily DOUBLE,
    byok_usage_weekly DOUBLE,
    byok_usage_monthly DOUBLE,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, fetched_at, hash)
);
INSERT INTO api_key_snapshots__accounts BY NAME SELECT *, 'default' AS account FROM api_key_snapshots;
DROP TABLE api_key_snapshots;
ALTER TABLE api_key_snapshots__accounts RENAME TO api_key_snapshots;

CREATE TABLE api_keys__accounts (
    hash VARCHAR,
    "name" VARCHAR NOT NULL,
    "label" VARCHAR NOT NULL,
    disabled BOOLEAN NOT NULL,
    "limit" DOUBLE,
    limit_remaining DOUBLE,
    limit_reset VARCHAR,
    include_byok_in_limit BOOLEAN,
    usage DOUBLE,
    usage_daily DOUBLE,
    usage_weekly DOUBLE,
    usage_monthly DOUBLE,
    byok_usage DOUBLE,
    byok_usage_daily DOUBLE,
    byok_usage_weekly DOUBLE,
    byok_usage_monthly DOUBLE,
    created_at TIMESTAMP,
    updated_at TIMESTAMP,
    expires_at TIMESTAMP,
    creator_user_id VARCHAR,
    workspace_id VARCHAR,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    last_used_at TIMESTAMP,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, hash)
);
INSERT INTO api_keys__accounts BY NAME SELECT *, 'default' AS account FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys__accounts RENAME TO api_keys;

CREATE TABLE workspaces__accounts (
    id VARCHAR,
    "name" VARCHAR NOT NULL,
    slug VARCHAR NOT NULL,
    created_at TIMESTAMP,
    updated_at TIMESTAMP,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, id)
);
INSERT INTO workspaces__accounts BY NAME SELECT *, 'default' AS account FROM workspaces;
DROP TABLE workspaces;
ALTER TABLE workspaces__accounts RENAME TO workspaces;

CREATE TABLE credits__accounts (
    fetched_at TIMESTAMP,
    total_credits DOUBLE NOT NULL,
    total_usage DOUBLE NOT NULL,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, fetched_at)
);
INSERT INTO credits__accounts BY NAME SELECT *, 'default' AS account FROM credits;
DROP TABLE credits;
ALTER TABLE credits__accounts RENAME TO credits;

CREATE TABLE coverage__accounts (
    "source" VARCHAR,
    dimensions VARCHAR,
    "scope" VARCHAR,
    metrics VARCHAR,
    first_day DATE,
    last_day DATE,
    fetched_at TIMESTAMP NOT NULL,
    rows_received BIGINT NOT NULL,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, "source", dimensions, "scope", metrics, first_day, last_day)
);
INSERT INTO coverage__accounts BY NAME SELECT *, 'default' AS account FROM coverage;
DROP TABLE coverage;
ALTER TABLE coverage__accounts RENAME TO coverage;

CREATE TABLE organization_members__accounts (
    id VARCHAR,
    first_name VARCHAR,
    last_name VARCHAR,
    email VARCHAR,
    "role" VARCHAR,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, id)
);
INSERT INTO organization_members__accounts BY NAME SELECT *, 'default' AS account FROM organization_members;
DROP TABLE organization_members;
ALTER TABLE organization_members__accounts RENAME TO organization_members;

CREATE TABLE imported_files__accounts (
    size_bytes BIGINT,
    head_tail_sha256 VARCHAR,
    lines BIGINT,
    path VARCHAR NOT NULL,
    "rows" BIGINT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, size_bytes, head_tail_sha256, lines)
);
INSERT INTO imported_files__accounts BY NAME SELECT *, 'default' AS account FROM imported_files;
DROP TABLE imported_files;
ALTER TABLE imported_files__accounts RENAME TO imported_files;

CREATE TABLE broadcast_destinations__accounts (
    id VARCHAR,
    "name" VARCHAR,
    "type" VARCHAR NOT NULL,
    enabled BOOLEAN NOT NULL,
    sampling_rate DOUBLE NOT NULL,
    privacy_mode BOOLEAN NOT NULL,
    broadcast_generation_cost BOOLEAN NOT NULL,
    broadcast_generation_identity BOOLEAN NOT NULL,
    broadcast_generation_request_context BOOLEAN NOT NULL,
    api_key_hashes VARCHAR[],
    has_filter_rules BOOLEAN NOT NULL,
    workspace_id VARCHAR,
    created_at TIMESTAMP,
    updated_at TIMESTAMP,
    fetched_at TIMESTAMP NOT NULL,
    account VARCHAR NOT NULL DEFAULT coalesce(getvariable('orusage_account'), 'default'),
    PRIMARY KEY (account, id)
);
INSERT INTO broadcast_destinations__accounts BY NAME SELECT *, 'default' AS account FROM broadcast_destinations;
DROP TABLE broadcast_destinations;
ALTER TABLE broadcast_destinations__accounts RENAME TO broadcast_destinations;
ALTER TABLE generations ADD COLUMN account VARCHAR DEFAULT 'default';
ALTER TABLE generations ALTER COLUMN account SET DEFAULT coalesce(getvariable('orusage_account'), 'default');
ALTER TABLE ingest_runs ADD COLUMN account VARCHAR DEFAULT 'default';
ALTER TABLE ingest_runs ALTER COLUMN account SET DEFAULT coalesce(getvariable('orusage_account'), 'default');

-- The accounts the store holds, in the order they were first written (the dashboard offers them as a filter
-- once there are two).
CREATE TABLE accounts (
    name VARCHAR PRIMARY KEY,
    first_seen_at TIMESTAMP NOT NULL
);
INSERT INTO accounts
SELECT 'default', coalesce((SELECT min(started_at) FROM ingest_runs), now()::TIMESTAMP)
WHERE EXISTS (SELECT 1 FROM ingest_runs) OR EXISTS (SELECT 1 FROM generations) OR EXISTS (SELECT 1 FROM activity);
