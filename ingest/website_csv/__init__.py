"""Importing the website's activity export (CSV, one row per generation): ``layout`` knows the columns of
both known layouts and what they map onto (pure), ``load`` validates whole files with DuckDB's own CSV
reader and merges them into ``generations`` in one transaction."""
