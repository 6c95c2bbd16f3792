"""Benchmarks of openrouter-usage at 1 M and 10 M generation records: ``python -m bench`` (``make bench``).

Never run by the tests. Every figure is printed next to a baseline measured in the same run.
"""
