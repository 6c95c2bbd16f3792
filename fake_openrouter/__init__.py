"""A fake OpenRouter API for tests and demos (OpenRouter itself is unreachable from here).

- ``dataset.build(now, seed, quirks, idle_keys)``: the one deterministic data set (DuckDB table ``generations``)
  that every endpoint answers from; ``catalog`` (models, providers, price history) and ``account`` (workspaces,
  keys, apps) describe it; ``generate`` draws the per-day rows.
- ``server.FakeServer`` / ``server.serve``: the HTTP server under ``/api/v1``; ``routes`` maps paths to the
  ``api_*`` modules; ``auth`` checks keys; ``faults`` injects misbehaviour.
- ``keys``: the demo keys (fake, safe to print).
"""
