-- Today for every scope. Today's and yesterday's spend per hour for the model, provider, app and
-- member groupings (analytics `hour` granularity), provisional: replaced whole at every ingest, so it never
-- holds anything but the last fetch. Alerts read today's spend of a model, provider, app or member from
-- here; the daily tables stay the one source of completed days. Columns as in analytics_daily.
CREATE TABLE analytics_hourly (
    hour            TIMESTAMP NOT NULL,   -- the hour's start, UTC
    dimensions      VARCHAR   NOT NULL,   -- 'model', 'model,provider', 'model,app', 'user'
    dim_key         VARCHAR   NOT NULL,
    model           VARCHAR,
    provider        VARCHAR,
    app             VARCHAR,
    "user"          VARCHAR,
    user_email      VARCHAR,
    request_count   BIGINT,
    total_usage     DOUBLE,
    byok_usage      DOUBLE,
    PRIMARY KEY (dimensions, hour, dim_key)
);

-- One row per grouping: the window the last fetch covered (first_hour .. fetched_at) and when it was made.
CREATE TABLE analytics_hourly_fetches (
    dimensions      VARCHAR   NOT NULL PRIMARY KEY,
    first_hour      TIMESTAMP NOT NULL,
    fetched_at      TIMESTAMP NOT NULL,
    rows_received   BIGINT    NOT NULL
);
