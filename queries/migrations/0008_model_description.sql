-- 0006: what /models says a model is: its description (kept on the newest state of the model; a new
-- description alone starts no new state, as prices and expiry do). `created` was already kept.
ALTER TABLE models ADD COLUMN description VARCHAR;

-- The view lists the table's columns: made again so that it carries the new one.
CREATE OR REPLACE VIEW models_current AS
SELECT * FROM models QUALIFY row_number() OVER (PARTITION BY canonical_slug ORDER BY valid_from DESC) = 1;
