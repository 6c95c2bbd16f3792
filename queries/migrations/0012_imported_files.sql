-- 0008: the website CSV files already imported, recognised by a fingerprint, so importing one again costs
-- a look at its first and last MiB and a count of its lines instead of a full read (`orusage import
-- --force` reads it anyway). ingest/website_csv/fingerprint.py says what the fingerprint holds.
CREATE TABLE imported_files (
    size_bytes        BIGINT    NOT NULL,
    head_tail_sha256  VARCHAR   NOT NULL,  -- SHA-256 of the first MiB then the last MiB (the whole file if smaller)
    lines             BIGINT    NOT NULL,  -- line breaks in the file: its rows, the header, any inside quotes
    path              VARCHAR   NOT NULL,  -- as it was imported the last time
    rows              BIGINT    NOT NULL,  -- rows it held
    imported_at       TIMESTAMP NOT NULL,  -- the last import that read it
    PRIMARY KEY (size_bytes, head_tail_sha256, lines)
);
