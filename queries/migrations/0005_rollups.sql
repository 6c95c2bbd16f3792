-- 0005: narrow rollups of the daily facts, for the dashboard's first page run after an ingest.
-- Derived data only (queries/rollups.py says how each is summed): the writer refreshes them in the same
-- transaction as the facts they sum, and this migration fills them from the facts already stored.

-- Per UTC day and routed source (`activity`, `activity_by_key`, `analytics:<dimensions>`), the facts summed
-- by one dimension (`kind` 'app' or 'key', its value in `value`) or by none (`kind` 'total').
CREATE TABLE rollup_daily (
    source          VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    value           VARCHAR,
    date            DATE    NOT NULL,
    requests        BIGINT,
    prompt          BIGINT,
    completion      BIGINT,
    reasoning       BIGINT,
    completion_only BIGINT,  -- Σ max(completion - reasoning, 0) per stored row
    cached          BIGINT,  -- NULL for activity, which has no cached tokens
    spend           DOUBLE,
    byok            DOUBLE
);

-- Every value of a dimension (`kind`: model, provider, app, key, workspace) each source holds: its spend
-- (NULL where only its presence is kept), first and last stored day, and for models the display slug
-- `/activity` last gave it.
CREATE TABLE rollup_values (
    kind            VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    value           VARCHAR NOT NULL,
    spend           DOUBLE,
    first_day       DATE,
    last_day        DATE,
    display         VARCHAR
);

-- The UTC days each routed source covers (`metrics` 'long' or 'short', as in `coverage`), merged.
CREATE TABLE rollup_spans (
    source          VARCHAR NOT NULL,
    metrics         VARCHAR NOT NULL,
    first_day       DATE    NOT NULL,
    last_day        DATE    NOT NULL
);
