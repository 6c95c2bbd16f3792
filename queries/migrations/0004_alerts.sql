-- 0004: budgets and alerting. Written only by `orusage alerts check` and `orusage ingest --alerts`, through
-- the one writer; the Budgets page reads them from the snapshot.

CREATE SEQUENCE alert_ids START 1;

-- One row per alert ever raised, keyed by what it is about, so each is raised (and sent) once:
--   budget     the budget's name; '' for account-wide rules (credits, stale data, model prices)
--   kind       threshold | forecast | spike | credits | stale | price_change | expiry
--   subject    what within the budget it is about: a model's permaslug for price_change/expiry, else ''
--   period     the budget period ('2026-11', '2026-W48', '2026-11-25', 'total'), the day of a spike, or
--              the episode of an account-wide rule (credits bought, the last good ingest, a price's date)
--   threshold  percent of the limit for threshold alerts (50, 80, 100); the rule's number otherwise
-- status: 'active' (raised), 'suppressed' (crossed in the same run as a higher threshold: recorded,
-- never sent), 'cleared' (a spike, forecast or stale-data alert that recovered; the notice was queued).
CREATE TABLE alerts (
    alert_id      BIGINT    NOT NULL PRIMARY KEY DEFAULT nextval('alert_ids'),
    budget        VARCHAR   NOT NULL,
    kind          VARCHAR   NOT NULL,
    subject       VARCHAR   NOT NULL,
    period        VARCHAR   NOT NULL,
    threshold     DOUBLE    NOT NULL,
    status        VARCHAR   NOT NULL,
    raised_at     TIMESTAMP NOT NULL,
    cleared_at    TIMESTAMP,
    limit_usd     DOUBLE,
    spend_usd     DOUBLE,
    title         VARCHAR   NOT NULL,
    message       VARCHAR   NOT NULL,
    UNIQUE (budget, kind, subject, period, threshold)
);

CREATE SEQUENCE alert_delivery_ids START 1;

-- One row per message to send: an alert raised or cleared × a channel configured when it happened.
-- status: 'pending' (not tried yet), 'sent', 'failed' (tried; `error` holds the failure's one line; retried
-- at the next run). Messages hold no secrets; channels are named by kind, never by URL.
CREATE TABLE alert_deliveries (
    delivery_id   BIGINT    NOT NULL PRIMARY KEY DEFAULT nextval('alert_delivery_ids'),
    alert_id      BIGINT    NOT NULL,
    event         VARCHAR   NOT NULL,          -- raised | cleared
    channel       VARCHAR   NOT NULL,          -- webhook | slack | email | stdout
    status        VARCHAR   NOT NULL,
    attempts      INTEGER   NOT NULL DEFAULT 0,
    error         VARCHAR,
    created_at    TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    sent_at       TIMESTAMP,
    title         VARCHAR   NOT NULL,
    message       VARCHAR   NOT NULL,
    UNIQUE (alert_id, event, channel)
);

-- Each budget as the last alerts run evaluated it (replaced whole at every run), for the Budgets page.
CREATE TABLE budget_status (
    budget          VARCHAR   NOT NULL PRIMARY KEY,
    scope           VARCHAR   NOT NULL,        -- as written in the config, e.g. 'team:research'
    mirrored        BOOLEAN   NOT NULL,        -- mirrors an OpenRouter key limit
    period          VARCHAR   NOT NULL,        -- day | week | month | total
    period_label    VARCHAR   NOT NULL,        -- '2026-11', '2026-W48', '2026-11-25', 'total'
    period_start    DATE,
    period_end      DATE,                      -- exclusive; NULL for a limit that never resets
    limit_usd       DOUBLE    NOT NULL,
    spend_usd       DOUBLE    NOT NULL,        -- completed days of the period + today so far
    today_usd       DOUBLE,                    -- today so far; NULL when the scope's today is not knowable
    today_as_of     TIMESTAMP,
    include_byok    BOOLEAN   NOT NULL,
    thresholds      VARCHAR   NOT NULL,        -- e.g. '50,80,100'
    forecast_usd    DOUBLE,                    -- projected spend at the period's end
    forecast_low    DOUBLE,
    forecast_high   DOUBLE,
    forecast_cross  DATE,                      -- the day the projection crosses the limit
    note            VARCHAR,
    evaluated_at    TIMESTAMP NOT NULL
);

-- The period's cumulative spend per day: actual for past days, projection and band for the rest.
CREATE TABLE budget_forecast (
    budget          VARCHAR   NOT NULL,
    date            DATE      NOT NULL,
    actual_usd      DOUBLE,                    -- cumulative spend up to and including the day (known days)
    forecast_usd    DOUBLE,                    -- cumulative projection (today and later)
    low_usd         DOUBLE,
    high_usd        DOUBLE,
    PRIMARY KEY (budget, date)
);

-- Cost centres from the config as the last alerts run resolved them (replaced whole), for chargeback:
-- kind is key (a hash; workspaces are resolved to their keys), app or member.
CREATE TABLE cost_centres (
    team            VARCHAR   NOT NULL,
    kind            VARCHAR   NOT NULL,
    value           VARCHAR   NOT NULL,
    PRIMARY KEY (team, kind, value)
);
