-- Alerts an operator can trust: acknowledge and snooze, one sender under concurrency (claims with an
-- owner and a lease), destinations that are disabled after failing and re-enabled with a digest, budget
-- periods evaluated once more when they end, the weekly report's sends, and keys' last use.

-- acked_at: `orusage alerts ack` (no more reminders while it stays open; its recovery notice still goes out).
-- notified_at: when its last message (raised or reminder) was queued; reminders: how many were.
ALTER TABLE alerts ADD COLUMN acked_at TIMESTAMP;
ALTER TABLE alerts ADD COLUMN notified_at TIMESTAMP;
ALTER TABLE alerts ADD COLUMN reminders INTEGER DEFAULT 0;

-- delivery_key: sent as the X-Orusage-Delivery-Id header (the same on every retry), so a receiver can drop
-- a message it has already seen: delivery is at least once. claimed_by/lease_until: the run sending it;
-- another run leaves it alone until the lease ends (a sender that died is taken over then).
-- status gains 'muted' (snoozed: recorded, never sent) and 'digest' (sent inside digest_of's digest
-- when its channel was re-enabled).
ALTER TABLE alert_deliveries ADD COLUMN delivery_key VARCHAR;
ALTER TABLE alert_deliveries ADD COLUMN claimed_by VARCHAR;
ALTER TABLE alert_deliveries ADD COLUMN lease_until TIMESTAMP;
ALTER TABLE alert_deliveries ADD COLUMN digest_of VARCHAR;

-- Each delivery channel's health. A channel failing in FAILURES_TO_DISABLE runs in a row is disabled: its
-- messages are kept and go out as one digest when it is re-enabled (a successful `alerts test-send`, or a
-- change of its config). fingerprint: a SHA-256 of its config, never the config (URLs hold tokens).
CREATE TABLE alert_channels (
    channel             VARCHAR   NOT NULL PRIMARY KEY,   -- webhook | slack | discord | teams | email | stdout
    fingerprint         VARCHAR   NOT NULL,
    failures_in_a_row   INTEGER   NOT NULL DEFAULT 0,
    disabled_at         TIMESTAMP,
    last_error          VARCHAR,
    last_failure_at     TIMESTAMP,
    last_success_at     TIMESTAMP,
    updated_at          TIMESTAMP NOT NULL
);

-- `orusage alerts snooze ID --for 24h`: deliveries of this rule and scope are muted until `until`;
-- evaluation goes on.
CREATE TABLE alert_snoozes (
    budget      VARCHAR   NOT NULL,
    kind        VARCHAR   NOT NULL,
    subject     VARCHAR   NOT NULL,
    until       TIMESTAMP NOT NULL,
    alert_id    BIGINT    NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (budget, kind, subject)
);

-- Every budget period an alerts run saw as current, and its final figure once it ended and its last day was
-- final (evaluated whole once: closed_at). Only periods seen as current can alert when they end, so a
-- backfill never alerts on older ones.
CREATE TABLE budget_periods (
    budget          VARCHAR   NOT NULL,
    period_label    VARCHAR   NOT NULL,
    period          VARCHAR   NOT NULL,
    period_start    DATE      NOT NULL,
    period_end      DATE      NOT NULL,   -- exclusive
    limit_usd       DOUBLE    NOT NULL,
    first_seen_at   TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP NOT NULL,
    seen_usd        DOUBLE    NOT NULL,   -- the spend the last run that saw it current counted
    final_usd       DOUBLE,
    closed_at       TIMESTAMP,
    PRIMARY KEY (budget, period_label)
);

-- The budget's spend passed its limit on this day (NULL: it has not).
ALTER TABLE budget_status ADD COLUMN over_since DATE;

-- `orusage report weekly --send`: one row per report × week × channel, so a rerun does not send it again
-- (unless --resend). Claimed like alert deliveries.
CREATE TABLE report_deliveries (
    report          VARCHAR   NOT NULL,   -- 'weekly'
    period          VARCHAR   NOT NULL,   -- '2026-W47'
    channel         VARCHAR   NOT NULL,
    status          VARCHAR   NOT NULL,   -- pending | sent | failed
    delivery_key    VARCHAR   NOT NULL,
    claimed_by      VARCHAR,
    lease_until     TIMESTAMP,
    attempts        INTEGER   NOT NULL DEFAULT 0,
    sends           INTEGER   NOT NULL DEFAULT 0,
    error           VARCHAR,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    PRIMARY KEY (report, period, channel)
);

-- /keys' last_used_at (newer than the spec this project holds): used when OpenRouter sends it.
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMP;
