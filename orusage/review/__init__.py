"""The weekly cost review: what changed since last week, and why.

The numbers are computed in ``queries.review`` (reads) and the pure ``queries.review_*`` modules, so that the
dashboard page (which may not import this package) shows the very same numbers. Here: ``decompose`` (the exact
volume/mix/price split), and the report: ``document`` (content as blocks), ``images`` (charts as PNG),
``render`` (Markdown, HTML), ``rendered`` (a drawn report and its files), ``mail`` (the e-mail), ``send``
(delivery through the alert channels), ``report`` (the `orusage report weekly` job).
"""
