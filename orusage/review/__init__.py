"""The weekly cost report: what changed since last week, and why.

The numbers are computed in the ``review`` package (``review.load.weekly_review``) and the charts drawn by
``charts.weekly``, so the dashboard page shows the very same numbers and charts. Here, the report:
``document`` (content as blocks), ``images`` (charts as PNG), ``render`` (Markdown, HTML), ``rendered`` (a
drawn report and its files), ``mail`` (the e-mail), ``send`` (delivery through the alert channels),
``report`` (the `orusage report weekly` job).
"""
