"""CSV cells a spreadsheet would run as a formula ("CSV injection"), made inert. One rule for every CSV we write
(``orusage export``, the dashboard's downloads).

App, key, user and variant names are set by whoever calls the API; a name such as ``=HYPERLINK("http://…")``
or ``@SUM(A1)`` in a CSV opened by Excel, LibreOffice or Google Sheets is a formula. A **text** cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading apostrophe
(``'=HYPERLINK(…)``), which spreadsheets show as text and do not evaluate (OWASP's advice). Numbers, dates
and times are typed values, not text: they are written as they are, so a negative amount stays ``-0.5``.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"
# The same rule for engines with regular expressions (Arrow's RE2): the first character, kept, after PREFIX.
FORMULA_REGEX = "^([=+\\-@\\t\\r])"
FORMULA_REPLACEMENT = PREFIX + "\\1"


def neutralise(text: str) -> str:
    """``text`` as a CSV text cell a spreadsheet will not evaluate."""
    return PREFIX + text if text.startswith(FORMULA_STARTS) else text


def sql_neutralise(quoted_column: str) -> str:
    """The same rule as a DuckDB expression over a VARCHAR column (its identifier, already quoted)."""
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_STARTS)
    col, prefix = quoted_column, PREFIX.replace("'", "''")
    return f"CASE WHEN left({col}, 1) IN ({starts}) THEN '{prefix}' || {col} ELSE {col} END"
