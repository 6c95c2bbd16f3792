-- 0003: per-generation records (GET /generation and the website's activity export), the identities they
-- teach (app id ↔ label, generation ↔ key), and the reconciliation of every source per day and model.

-- One row per generation id, whichever sources have it. Column names are /generation's own; the
-- export's columns are mapped onto them (README: "Per-generation records"), its export-only columns kept.
-- No PRIMARY KEY on purpose: a VARCHAR key index makes bulk loads several times slower (verified-here.md),
-- so uniqueness is kept by the writes instead: each batch deletes its ids, then inserts them, in one
-- transaction. Prompts and completions are never stored (the project never calls /generation/content).
CREATE TABLE generations (
    id                              VARCHAR   NOT NULL,
    created_at                      TIMESTAMP NOT NULL,  -- UTC
    source                          VARCHAR   NOT NULL,  -- api | export | api+export
    model                           VARCHAR,             -- the slug /generation gives
    model_permaslug                 VARCHAR,             -- as activity and analytics key models
    provider_name                   VARCHAR,
    endpoint_id                     VARCHAR,
    api_key_hash                    VARCHAR,             -- learned: analytics by generation, or the export's
                                                         -- key name when no other key has that name
    workspace_id                    VARCHAR,
    app_id                          BIGINT,
    origin                          VARCHAR,
    http_referer                    VARCHAR,
    external_user                   VARCHAR,
    user_agent                      VARCHAR,
    api_type                        VARCHAR,
    router                          VARCHAR,
    preset_id                       VARCHAR,
    service_tier                    VARCHAR,
    data_region                     VARCHAR,
    web_search_engine               VARCHAR,
    upstream_id                     VARCHAR,
    request_id                      VARCHAR,
    session_id                      VARCHAR,
    response_cache_source_id        VARCHAR,
    tokens_prompt                   BIGINT,
    tokens_completion               BIGINT,
    native_tokens_prompt            BIGINT,
    native_tokens_completion        BIGINT,
    native_tokens_completion_images BIGINT,
    native_tokens_reasoning         BIGINT,
    native_tokens_cached            BIGINT,
    num_media_prompt                BIGINT,
    num_input_audio_prompt          BIGINT,
    num_media_completion            BIGINT,
    num_search_results              BIGINT,
    num_fetches                     BIGINT,
    usage                           DOUBLE,              -- credits charged
    total_cost                      DOUBLE,
    cache_discount                  DOUBLE,
    upstream_inference_cost         DOUBLE,
    byok_usage_inference            DOUBLE,              -- export's column; from the API: the upstream cost of
                                                         -- a BYOK generation, 0 otherwise (as /activity counts it)
    is_byok                         BOOLEAN,
    latency                         DOUBLE,              -- ms
    generation_time                 DOUBLE,              -- ms
    moderation_latency              DOUBLE,              -- ms
    finish_reason                   VARCHAR,
    native_finish_reason            VARCHAR,
    streamed                        BOOLEAN,
    cancelled                       BOOLEAN,
    provider_responses              VARCHAR,             -- JSON: every provider tried (fallbacks), no content
    -- Only the website export has these.
    app_name                        VARCHAR,
    api_key_name                    VARCHAR,
    api_key_disabled                BOOLEAN,             -- 2026 layout only
    variant                         VARCHAR,
    time_to_first_token_ms          DOUBLE,
    cost_web_search                 DOUBLE,
    cost_cache                      DOUBLE,
    cost_file_processing            DOUBLE,
    fetched_at                      TIMESTAMP,           -- when /generation answered
    imported_at                     TIMESTAMP            -- when an export first brought the row
);

-- What an app id is called: /generation gives only the number, analytics and the export only the label.
-- Learned from generations seen through both; a renamed app keeps its newest label.
CREATE TABLE app_labels (
    app_id                          BIGINT    NOT NULL PRIMARY KEY,
    label                           VARCHAR   NOT NULL,
    learned_from                    VARCHAR   NOT NULL,  -- analytics | export
    seen_at                         TIMESTAMP NOT NULL   -- created_at of the newest generation showing it
);

-- Every (UTC day, model, metric) compared between the sources that cover the day, rebuilt by each ingest
-- and import. A source's column is NULL where it does not cover the day (or, for generations, where its
-- rows lack that metric); 0 where it covers the day but has no traffic of the model.
CREATE TABLE reconciliation (
    date                            DATE      NOT NULL,
    model_permaslug                 VARCHAR   NOT NULL,
    metric                          VARCHAR   NOT NULL,  -- requests | credits | byok | native_prompt_tokens |
                                                         -- native_completion_tokens | native_reasoning_tokens
    activity                        DOUBLE,
    analytics                       DOUBLE,
    generations                     DOUBLE,
    difference                      DOUBLE    NOT NULL,  -- largest minus smallest of the present values
    agrees                          BOOLEAN   NOT NULL,  -- within the tolerance (README)
    checked_at                      TIMESTAMP NOT NULL,
    PRIMARY KEY (date, model_permaslug, metric)
);

-- ---- Views for people who query the file. Each reads `generations` once per generation. ----

-- Latency per UTC day and model, in ms (latency = time to first token, generation_time = whole request).
CREATE VIEW generation_latency_daily AS
SELECT CAST(created_at AS DATE) AS date, coalesce(model_permaslug, model) AS model_permaslug,
       count(*) AS requests,
       avg(latency) AS avg_latency, quantile_cont(latency, 0.5) AS p50_latency,
       quantile_cont(latency, 0.9) AS p90_latency, quantile_cont(latency, 0.99) AS p99_latency,
       avg(generation_time) AS avg_generation_time, quantile_cont(generation_time, 0.5) AS p50_generation_time,
       avg(moderation_latency) AS avg_moderation_latency
FROM generations GROUP BY ALL;

-- What prompt caching saved per UTC day and model: Σ cache_discount (USD), and the cached share of prompts.
CREATE VIEW cache_savings_daily AS
SELECT CAST(created_at AS DATE) AS date, coalesce(model_permaslug, model) AS model_permaslug,
       count(*) AS requests,
       count(*) FILTER (WHERE native_tokens_cached > 0) AS cached_requests,
       sum(native_tokens_cached) AS native_tokens_cached,
       sum(cache_discount) AS cache_discount,
       sum(native_tokens_cached) / nullif(sum(native_tokens_prompt), 0) AS cached_prompt_share
FROM generations GROUP BY ALL;

-- How generations ended per UTC day and model: OpenRouter's normalized reason and the provider's own.
CREATE VIEW finish_reasons_daily AS
SELECT CAST(created_at AS DATE) AS date, coalesce(model_permaslug, model) AS model_permaslug,
       coalesce(finish_reason, CASE WHEN cancelled THEN 'cancelled' END, 'unknown') AS finish_reason,
       native_finish_reason, count(*) AS requests, count(*) FILTER (WHERE cancelled) AS cancelled
FROM generations GROUP BY ALL;

-- Spend per UTC day and app, with one name per app whichever source a generation came from.
CREATE VIEW generation_spend_by_app_daily AS
SELECT CAST(g.created_at AS DATE) AS date, g.app_id,
       coalesce(l.label, g.app_name, 'unattributed') AS app,
       count(*) AS requests, sum(coalesce(g.usage, g.total_cost)) AS credits,
       sum(coalesce(g.byok_usage_inference, 0)) AS byok_usage_inference,
       sum(coalesce(g.usage, g.total_cost) + coalesce(g.byok_usage_inference, 0)) AS spend
FROM generations g LEFT JOIN app_labels l ON l.app_id = g.app_id
GROUP BY ALL;

-- Spend per UTC day and API key (hash; name as last seen), whichever source a generation came from.
CREATE VIEW generation_spend_by_key_daily AS
SELECT CAST(g.created_at AS DATE) AS date, g.api_key_hash, k.name AS api_key_name,
       count(*) AS requests, sum(coalesce(g.usage, g.total_cost)) AS credits,
       sum(coalesce(g.byok_usage_inference, 0)) AS byok_usage_inference,
       sum(coalesce(g.usage, g.total_cost) + coalesce(g.byok_usage_inference, 0)) AS spend
FROM generations g LEFT JOIN api_keys k ON k.hash = g.api_key_hash
GROUP BY ALL;

CREATE VIEW reconciliation_differences AS
SELECT * FROM reconciliation WHERE NOT agrees;
