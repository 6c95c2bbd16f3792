-- 0006: the days each scheduled FOCUS export (`orusage export --format focus --since-last`) sent to a folder,
-- so the next run sends only new final days, and `orusage status` can tell which sent days OpenRouter has
-- revised since (their stored rows no longer match `fingerprint`). Written only by `orusage export`.
CREATE TABLE focus_exports (
    folder          VARCHAR   NOT NULL,  -- the --out folder, as an absolute path
    file_type       VARCHAR   NOT NULL,  -- csv | csv.gz | parquet
    day             DATE      NOT NULL,  -- a UTC day the file holds (not `date`: a ledger, not daily facts)
    file            VARCHAR   NOT NULL,  -- the file's name in the folder
    file_sha256     VARCHAR   NOT NULL,  -- of the whole file, as written
    fingerprint     VARCHAR   NOT NULL,  -- md5 of the stored rows the day was made of (queries.focus)
    rows            BIGINT    NOT NULL,  -- the day's rows in the file
    billed_usd      DOUBLE    NOT NULL,  -- the day's Σ BilledCost in the file
    byok_usd        DOUBLE    NOT NULL,  -- the day's Σ x_ByokUpstreamCost in the file
    exported_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (folder, file_type, day)
);
