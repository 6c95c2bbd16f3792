-- 0001: the store's first shape. Tables mirror OpenRouter's field names.
-- Natural keys make every upsert idempotent; no key column is ever NULL.

-- /activity, account-wide: one row per (UTC day, model, endpoint).
CREATE TABLE activity (
    date                  DATE    NOT NULL,
    model                 VARCHAR NOT NULL,
    model_permaslug       VARCHAR NOT NULL,
    endpoint_id           VARCHAR NOT NULL,
    provider_name         VARCHAR NOT NULL,
    requests              BIGINT  NOT NULL,
    prompt_tokens         BIGINT  NOT NULL,
    completion_tokens     BIGINT  NOT NULL,
    reasoning_tokens      BIGINT  NOT NULL,
    usage                 DOUBLE  NOT NULL,
    byok_usage_inference  DOUBLE  NOT NULL,
    ingested_at           TIMESTAMP NOT NULL,
    PRIMARY KEY (date, model_permaslug, endpoint_id)
);

-- /activity?api_key_hash=…: the same rows for one key.
CREATE TABLE activity_by_key (
    date                  DATE    NOT NULL,
    api_key_hash          VARCHAR NOT NULL,
    model                 VARCHAR NOT NULL,
    model_permaslug       VARCHAR NOT NULL,
    endpoint_id           VARCHAR NOT NULL,
    provider_name         VARCHAR NOT NULL,
    requests              BIGINT  NOT NULL,
    prompt_tokens         BIGINT  NOT NULL,
    completion_tokens     BIGINT  NOT NULL,
    reasoning_tokens      BIGINT  NOT NULL,
    usage                 DOUBLE  NOT NULL,
    byok_usage_inference  DOUBLE  NOT NULL,
    ingested_at           TIMESTAMP NOT NULL,
    PRIMARY KEY (date, api_key_hash, model_permaslug, endpoint_id)
);

-- /keys: one row per key hash, kept after the key is renamed or deleted.
CREATE TABLE api_keys (
    hash                  VARCHAR NOT NULL PRIMARY KEY,
    name                  VARCHAR NOT NULL,
    label                 VARCHAR NOT NULL,
    disabled              BOOLEAN NOT NULL,
    "limit"               DOUBLE,
    limit_remaining       DOUBLE,
    limit_reset           VARCHAR,
    include_byok_in_limit BOOLEAN,
    usage                 DOUBLE,
    usage_daily           DOUBLE,
    usage_weekly          DOUBLE,
    usage_monthly         DOUBLE,
    byok_usage            DOUBLE,
    byok_usage_daily      DOUBLE,
    byok_usage_weekly     DOUBLE,
    byok_usage_monthly    DOUBLE,
    created_at            TIMESTAMP,
    updated_at            TIMESTAMP,
    expires_at            TIMESTAMP,
    creator_user_id       VARCHAR,
    workspace_id          VARCHAR,
    first_seen_at         TIMESTAMP NOT NULL,
    last_seen_at          TIMESTAMP NOT NULL,
    deleted_at            TIMESTAMP  -- set when a key is no longer listed
);

-- Every /keys fetch: usage counters over time (today's spend "so far" comes from here) and names as they were.
CREATE TABLE api_key_snapshots (
    fetched_at            TIMESTAMP NOT NULL,
    hash                  VARCHAR NOT NULL,
    name                  VARCHAR NOT NULL,
    label                 VARCHAR NOT NULL,
    disabled              BOOLEAN NOT NULL,
    "limit"               DOUBLE,
    limit_remaining       DOUBLE,
    usage                 DOUBLE,
    usage_daily           DOUBLE,
    usage_weekly          DOUBLE,
    usage_monthly         DOUBLE,
    byok_usage            DOUBLE,
    byok_usage_daily      DOUBLE,
    byok_usage_weekly     DOUBLE,
    byok_usage_monthly    DOUBLE,
    PRIMARY KEY (fetched_at, hash)
);

CREATE TABLE workspaces (
    id                    VARCHAR NOT NULL PRIMARY KEY,
    name                  VARCHAR NOT NULL,
    slug                  VARCHAR NOT NULL,
    created_at            TIMESTAMP,
    updated_at            TIMESTAMP,
    first_seen_at         TIMESTAMP NOT NULL,
    last_seen_at          TIMESTAMP NOT NULL
);

-- /credits snapshots.
CREATE TABLE credits (
    fetched_at            TIMESTAMP NOT NULL PRIMARY KEY,
    total_credits         DOUBLE NOT NULL,
    total_usage           DOUBLE NOT NULL
);

-- /models: one row per distinct state of a model (prices are USD per token, as OpenRouter gives them).
-- A new row starts whenever any price or the expiration changes, so price history stays visible.
CREATE TABLE models (
    canonical_slug        VARCHAR NOT NULL,
    valid_from            TIMESTAMP NOT NULL,
    last_seen_at          TIMESTAMP NOT NULL,
    id                    VARCHAR NOT NULL,
    name                  VARCHAR NOT NULL,
    created               BIGINT,
    context_length        BIGINT,
    pricing_prompt        DOUBLE,
    pricing_completion    DOUBLE,
    pricing_request       DOUBLE,
    pricing_image         DOUBLE,
    pricing_web_search    DOUBLE,
    pricing_internal_reasoning DOUBLE,
    pricing_input_cache_read   DOUBLE,
    pricing_input_cache_write  DOUBLE,
    pricing_discount      DOUBLE,
    expiration_date       VARCHAR,
    output_modalities     VARCHAR,
    PRIMARY KEY (canonical_slug, valid_from)
);

CREATE SEQUENCE ingest_run_ids START 1;

CREATE TABLE ingest_runs (
    run_id                BIGINT NOT NULL PRIMARY KEY DEFAULT nextval('ingest_run_ids'),
    command               VARCHAR NOT NULL,
    started_at            TIMESTAMP NOT NULL,
    finished_at           TIMESTAMP,
    status                VARCHAR NOT NULL,          -- running | ok | failed
    units_done            INTEGER NOT NULL DEFAULT 0,
    rows_written          BIGINT NOT NULL DEFAULT 0,
    message               VARCHAR,
    duckdb_version        VARCHAR NOT NULL
);

-- ---- Views for people who query the file. None of them double counts: each reads one table. ----

-- Spend per UTC day and model, account-wide. spend = usage + byok_usage_inference (OpenRouter's total_usage).
CREATE VIEW daily_spend_by_model AS
SELECT date, model_permaslug, any_value(model) AS model,
       sum(requests) AS requests,
       sum(prompt_tokens) AS prompt_tokens,
       sum(completion_tokens) AS completion_tokens,
       sum(reasoning_tokens) AS reasoning_tokens,
       sum(usage) AS usage,
       sum(byok_usage_inference) AS byok_usage_inference,
       sum(usage + byok_usage_inference) AS spend
FROM activity GROUP BY date, model_permaslug;

-- Tokens per UTC day split so that the parts add up: prompt + completion-only + reasoning.
-- completion-only = max(completion − reasoning, 0): reasoning is part of completion, never counted twice.
CREATE VIEW daily_tokens AS
SELECT date,
       sum(prompt_tokens) AS prompt_tokens,
       sum(greatest(completion_tokens - reasoning_tokens, 0)) AS completion_only_tokens,
       sum(reasoning_tokens) AS reasoning_tokens,
       sum(completion_tokens) AS completion_tokens
FROM activity GROUP BY date;

-- Spend per UTC day and API key (by hash; name as last seen).
CREATE VIEW daily_spend_by_key AS
SELECT a.date, a.api_key_hash, k.name AS api_key_name,
       sum(a.requests) AS requests,
       sum(a.usage) AS usage,
       sum(a.byok_usage_inference) AS byok_usage_inference,
       sum(a.usage + a.byok_usage_inference) AS spend
FROM activity_by_key a LEFT JOIN api_keys k ON k.hash = a.api_key_hash
GROUP BY a.date, a.api_key_hash, k.name;

-- The newest known state of every model.
CREATE VIEW models_current AS
SELECT * FROM models QUALIFY row_number() OVER (PARTITION BY canonical_slug ORDER BY valid_from DESC) = 1;
