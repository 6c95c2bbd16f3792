"""The live feed from OpenRouter Broadcast (docs/broadcast.md): OTLP/JSON deliveries → generation records.

``otlp`` (pure: a body → the allowlisted records, never content), ``spool`` (each delivery kept on disk,
fsynced, before it is acknowledged), ``server`` (the HTTP receiver: token, content type, size bound),
``merge`` (the spool into the store in short transactions, exactly once per generation id) and
``destinations`` (the destinations' settings from ``GET /observability/destinations``).
"""
