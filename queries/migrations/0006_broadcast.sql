-- 0006: the live feed from OpenRouter Broadcast (docs/broadcast.md): generation records as they happen,
-- their request `trace` metadata as tags, what the receiver got per day, and the destinations' settings.

-- Broadcast is the third source of a generation record, the lowest: `/generation` over the website CSV over
-- Broadcast, per field. `received_at`: when a Broadcast delivery first brought the generation (NULL: never).
-- `broadcast_filled`: the columns whose value came from Broadcast alone, so a value /generation or the CSV
-- brings later replaces it (NULL: none). `source` is 'broadcast' for a record only Broadcast has.
ALTER TABLE generations ADD COLUMN received_at TIMESTAMP;
ALTER TABLE generations ADD COLUMN broadcast_filled VARCHAR[];

-- The request's `trace` metadata (`trace.metadata.KEY` attributes), one row per generation and key: at most
-- 20 a generation, values cut to 200 characters. The first delivery of a generation sets them; a duplicate
-- changes nothing.
CREATE TABLE generation_tags (
    id                      VARCHAR   NOT NULL,   -- generations.id
    key                     VARCHAR   NOT NULL,
    value                   VARCHAR   NOT NULL,
    PRIMARY KEY (id, key)
);

-- What the receiver got, per UTC day of receipt: deliveries merged, spans in them, spans without a
-- generation id (child spans: provider attempts, timing) or without a time, generations seen for the first
-- time, and generations delivered again (duplicates and retries, ignored).
CREATE TABLE broadcast_receipts (
    day                     DATE      NOT NULL PRIMARY KEY,
    deliveries              BIGINT    NOT NULL,
    spans                   BIGINT    NOT NULL,
    without_id              BIGINT    NOT NULL,
    without_time            BIGINT    NOT NULL,
    new_generations         BIGINT    NOT NULL,
    duplicates              BIGINT    NOT NULL,
    tags_dropped            BIGINT    NOT NULL,   -- beyond 20 a generation, or keys too long
    last_received_at        TIMESTAMP NOT NULL
);

-- GET /observability/destinations as the last ingest read it (replaced whole each time), webhook and
-- OpenTelemetry-collector destinations only. Never `config`: its headers hold the receiver's token.
CREATE TABLE broadcast_destinations (
    id                                      VARCHAR   NOT NULL PRIMARY KEY,
    name                                    VARCHAR,
    type                                    VARCHAR   NOT NULL,   -- webhook | otel-collector
    enabled                                 BOOLEAN   NOT NULL,
    sampling_rate                           DOUBLE    NOT NULL,   -- 0.0001..1
    privacy_mode                            BOOLEAN   NOT NULL,
    broadcast_generation_cost               BOOLEAN   NOT NULL,
    broadcast_generation_identity           BOOLEAN   NOT NULL,
    broadcast_generation_request_context    BOOLEAN   NOT NULL,
    api_key_hashes                          VARCHAR[],            -- NULL: every key
    has_filter_rules                        BOOLEAN   NOT NULL,
    workspace_id                            VARCHAR,
    created_at                              TIMESTAMP,
    updated_at                              TIMESTAMP,
    fetched_at                              TIMESTAMP NOT NULL
);
