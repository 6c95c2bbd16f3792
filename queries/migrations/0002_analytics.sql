-- 0002: a year of history from /analytics/query, model endpoint health, organization members.

-- One row per UTC day × grouping × the grouped values. Column names are the API's own.
-- `dimensions` says which dimension columns the row was grouped by (e.g. 'model,app'); the others are
-- NULL. The natural key uses `dim_key`, the grouped values joined with a sentinel for "none", so no key
-- column is ever NULL. Never sum across different `dimensions`: each grouping alone covers all traffic.
CREATE TABLE analytics_daily (
    date                    DATE    NOT NULL,
    dimensions              VARCHAR NOT NULL,
    dim_key                 VARCHAR NOT NULL,
    model                   VARCHAR,
    app                     VARCHAR,
    api_key_hash            VARCHAR,
    provider                VARCHAR,
    workspace               VARCHAR,
    "user"                  VARCHAR,
    user_email              VARCHAR,
    external_user           VARCHAR,
    request_count           BIGINT,
    tokens_total            BIGINT,
    tokens_prompt           BIGINT,
    tokens_completion       BIGINT,
    reasoning_tokens        BIGINT,
    cached_tokens           BIGINT,
    byok_request_count      BIGINT,
    total_usage             DOUBLE,
    byok_usage              DOUBLE,
    credits_usage           DOUBLE,
    usage_upstream          DOUBLE,
    usage_cache             DOUBLE,
    usage_data              DOUBLE,
    usage_web               DOUBLE,
    usage_upstream_web      DOUBLE,
    -- Reach 31 days only: NULL on older days.
    openrouter_usage        DOUBLE,
    byok_fees               DOUBLE,
    usage_file              DOUBLE,
    usage_web_fetch         DOUBLE,
    avg_latency             DOUBLE,
    p50_latency             DOUBLE,
    p90_latency             DOUBLE,
    p99_latency             DOUBLE,
    avg_throughput          DOUBLE,
    p50_throughput          DOUBLE,
    p90_throughput          DOUBLE,
    p99_throughput          DOUBLE,
    cache_hit_rate          DOUBLE,
    guardrail_invoked_count BIGINT,
    response_cached_count   BIGINT,
    ingested_at             TIMESTAMP NOT NULL,
    PRIMARY KEY (dimensions, date, dim_key)
);

-- What each source covers: one row per fetch of a day range, so `orusage status` can tell covered days
-- from missing ones (a day with no traffic is covered but has no rows).
--   source 'activity': /activity's 30-day window (scope '' account-wide, else the API key hash);
--   source 'analytics': one analytics grouping (`dimensions`), scope '' or the key hash it was filtered
--   by, `metrics` 'long' (365-day reach) or 'short' (31-day reach).
CREATE TABLE coverage (
    source                  VARCHAR NOT NULL,
    dimensions              VARCHAR NOT NULL,
    scope                   VARCHAR NOT NULL,
    metrics                 VARCHAR NOT NULL,
    first_day               DATE    NOT NULL,
    last_day                DATE    NOT NULL,
    fetched_at              TIMESTAMP NOT NULL,
    rows_received           BIGINT NOT NULL,
    PRIMARY KEY (source, dimensions, scope, metrics, first_day, last_day)
);

-- /models/{author}/{slug}/endpoints, snapshotted at each ingest for every model with traffic.
CREATE TABLE model_endpoints (
    fetched_at              TIMESTAMP NOT NULL,
    model_permaslug         VARCHAR NOT NULL,
    model_id                VARCHAR NOT NULL,
    provider_name           VARCHAR NOT NULL,
    tag                     VARCHAR NOT NULL,
    name                    VARCHAR,
    status                  INTEGER,
    quantization            VARCHAR,
    context_length          BIGINT,
    max_completion_tokens   BIGINT,
    uptime_last_5m          DOUBLE,
    uptime_last_30m         DOUBLE,
    uptime_last_1d          DOUBLE,
    latency_p50             DOUBLE,
    latency_p75             DOUBLE,
    latency_p90             DOUBLE,
    latency_p99             DOUBLE,
    throughput_p50          DOUBLE,
    throughput_p75          DOUBLE,
    throughput_p90          DOUBLE,
    throughput_p99          DOUBLE,
    pricing_prompt          DOUBLE,
    pricing_completion      DOUBLE,
    pricing_request         DOUBLE,
    pricing_input_cache_read DOUBLE,
    PRIMARY KEY (fetched_at, model_permaslug, tag)
);

CREATE TABLE organization_members (
    id                      VARCHAR NOT NULL PRIMARY KEY,
    first_name              VARCHAR,
    last_name               VARCHAR,
    email                   VARCHAR,
    role                    VARCHAR,
    first_seen_at           TIMESTAMP NOT NULL,
    last_seen_at            TIMESTAMP NOT NULL
);

-- ---- Views: each reads exactly one grouping, so none double counts. spend = total_usage. ----

CREATE VIEW analytics_spend_by_model AS
SELECT date, model, request_count, tokens_prompt, tokens_completion, reasoning_tokens, cached_tokens,
       total_usage AS spend, byok_usage, credits_usage
FROM analytics_daily WHERE dimensions = 'model';

CREATE VIEW analytics_spend_by_app AS
SELECT date, app, sum(request_count) AS request_count, sum(tokens_prompt) AS tokens_prompt,
       sum(tokens_completion) AS tokens_completion, sum(reasoning_tokens) AS reasoning_tokens,
       sum(total_usage) AS spend, sum(byok_usage) AS byok_usage
FROM analytics_daily WHERE dimensions = 'model,app' GROUP BY date, app;

CREATE VIEW analytics_spend_by_key AS
SELECT a.date, a.api_key_hash, k.name AS api_key_name, sum(a.request_count) AS request_count,
       sum(a.tokens_prompt) AS tokens_prompt, sum(a.tokens_completion) AS tokens_completion,
       sum(a.total_usage) AS spend, sum(a.byok_usage) AS byok_usage
FROM analytics_daily a LEFT JOIN api_keys k ON k.hash = a.api_key_hash
WHERE a.dimensions = 'api_key_hash,model' GROUP BY a.date, a.api_key_hash, k.name;

CREATE VIEW analytics_spend_by_provider AS
SELECT date, provider, sum(request_count) AS request_count, sum(tokens_prompt) AS tokens_prompt,
       sum(tokens_completion) AS tokens_completion, sum(total_usage) AS spend, sum(byok_usage) AS byok_usage
FROM analytics_daily WHERE dimensions = 'model,provider' GROUP BY date, provider;

CREATE VIEW analytics_spend_by_workspace AS
SELECT date, workspace, request_count, tokens_prompt, tokens_completion, total_usage AS spend, byok_usage
FROM analytics_daily WHERE dimensions = 'workspace';

CREATE VIEW analytics_spend_by_member AS
SELECT date, "user", user_email, request_count, tokens_prompt, tokens_completion, total_usage AS spend,
       byok_usage
FROM analytics_daily WHERE dimensions = 'user';

CREATE VIEW model_endpoints_latest AS
SELECT * FROM model_endpoints
QUALIFY fetched_at = max(fetched_at) OVER (PARTITION BY model_permaslug);
