"""Budgets and alerting: config, pure rules and forecasting, delivery, and the run that ties them together.

``config`` reads the TOML file; ``periods``, ``forecast``, ``rules`` and ``plan`` are pure functions;
``evaluate`` reads the facts a run needs through ``queries.budgets``; ``delivery`` sends messages;
``runner`` is the writer command (`orusage alerts check`, `orusage ingest --alerts`).
"""
