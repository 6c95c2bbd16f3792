"""Per-generation records through the API: list the ids (analytics, ``generation_id`` dimension), fetch
each new one from ``GET /generation`` (bounded concurrency, paced), store them in batches.

``plan`` (pure: the window, what to fetch, which days are complete), ``listing`` (analytics queries, split
while truncated), ``fetch`` (concurrent /generation calls, the early 404 retried), ``transform`` (answers →
rows, pure) and ``job`` (the step ``run_ingest`` calls). ``/generation/content`` is never called.
"""
