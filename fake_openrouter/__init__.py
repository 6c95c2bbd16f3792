"""A fake OpenRouter API for tests and demos (OpenRouter itself is unreachable from here).

- ``dataset.build(now, seed, quirks, idle_keys, clock)``: the one deterministic data set (DuckDB tables
  ``generations`` and ``generation_extras``) that every endpoint answers from; ``catalog`` (models, providers,
  price history) and ``account`` (workspaces, members, keys, apps) describe it; ``generate`` draws the per-day rows.
  ``build(..., second=True)``: a second, separate account's data set (``account.second_account``).
- ``server.FakeServer`` / ``server.serve``: the HTTP server under ``/api/v1`` (``others=``: more accounts on the
  same URL, chosen by the request's key); ``routes`` maps paths to the ``api_*`` modules; ``auth`` checks keys;
  ``faults`` injects misbehaviour; ``runtime`` holds what depends on the (injectable) clock: the analytics rate
  limit and "fresh" generations.
- ``analytics_schema`` / ``analytics_request`` / ``analytics_engine``: the /analytics/query engine (catalogue,
  validation, SQL over the generations).
- ``keys``: the demo keys (fake, safe to print).
"""
