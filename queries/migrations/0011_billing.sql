-- 0011: what the store needs to explain a bill. /models and /models/{author}/{slug}/endpoints list more
-- prices than 0001 and 0002 kept: the 1-hour cache-write price, conditional `overrides` (long prompts, UTC time
-- windows), and per endpoint its discount, cache-write, reasoning and web-search prices. Overrides are kept as
-- JSON text as received (a list of objects; prices USD per token as numbers, conditions as the API gives
-- them), in the order given: later entries win per price key.

ALTER TABLE models ADD COLUMN pricing_input_cache_write_1h DOUBLE;
ALTER TABLE models ADD COLUMN pricing_overrides VARCHAR;

ALTER TABLE model_endpoints ADD COLUMN pricing_internal_reasoning DOUBLE;
ALTER TABLE model_endpoints ADD COLUMN pricing_input_cache_write DOUBLE;
ALTER TABLE model_endpoints ADD COLUMN pricing_input_cache_write_1h DOUBLE;
ALTER TABLE model_endpoints ADD COLUMN pricing_web_search DOUBLE;
ALTER TABLE model_endpoints ADD COLUMN pricing_discount DOUBLE;
ALTER TABLE model_endpoints ADD COLUMN pricing_overrides VARCHAR;
