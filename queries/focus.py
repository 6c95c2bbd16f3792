"""The account's spend as a FOCUS 1.0 cost and usage dataset (FinOps Open Cost and Usage Specification), for
``orusage export --format focus``.

One row per UTC day × model × API key (× provider endpoint where ``/activity`` holds the day), split further
only where the team allocation (``queries.allocation``) splits a key's spend between teams; ``x_Grain`` says
which, row by row. The rows are the allocation's, so ``Σ BilledCost + Σ x_ByokUpstreamCost`` is the account's
routed spend for the range, the same number every page shows, and ``Tags.team`` summed gives the chargeback.

Money: ``BilledCost`` = ``EffectiveCost`` = what OpenRouter billed in credits (``usage``, BYOK fees included);
``x_ByokUpstreamCost`` = the upstream cost of bring-your-own-key traffic (``byok_usage_inference``), paid to the
provider, not to OpenRouter; ``ListCost`` = the tokens (and requests) at the list prices in force that day
(``reads_models.priced_cte``; ``x_ListPriceSource`` says when an older day used the earliest known price).
Every column, its source and the FOCUS version that defines it are in docs/focus.md.

``COLUMNS`` is the one list of the file's columns: their order, SQL and type. Timestamps are UTC
``TIMESTAMP WITH TIME ZONE`` in Parquet and ``YYYY-MM-DDTHH:MM:SSZ`` text in CSV (FOCUS's date format);
decimals are doubles in Parquet and plain decimal text in CSV (FOCUS's numeric format: no exponent).
Values are bound parameters; statements are built from this module's constants only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from core.errors import StoreError
from queries import accounts
from queries.allocation import APP_RULE, KEY_RULE, MEMBER_RULE, UNALLOCATED, Routes, allocation_sql
from queries.filters import everything
from queries.reads_facts import rows_sql
from queries.reads_models import priced_cte

FOCUS_VERSION = "1.0"
SERVICE = "OpenRouter"
SERVICE_CATEGORY = "AI and Machine Learning"
TAG_PREFIX = "openrouter/"  # provider-defined tags carry a prefix (FOCUS 1.0, Tags); `team` is the user's own

# FOCUS 1.0's columns and their feature level (the specification's "Content Constraints").
MANDATORY = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
)  # fmt: skip
RECOMMENDED = ("AvailabilityZone", "ChargeFrequency")
CONDITIONAL = (
    "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountStatus",
    "CommitmentDiscountType", "ConsumedQuantity", "ConsumedUnit", "ContractedUnitPrice", "ListUnitPrice",
    "PricingCategory", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "SkuId",
    "SkuPriceId", "SubAccountId", "SubAccountName", "Tags",
)  # fmt: skip


@dataclass(frozen=True)
class Column:
    name: str
    sql: str  # over the ``focus_rows`` relation below
    kind: str = "text"  # text | decimal | datetime


def _tags() -> str:
    pairs = [("team", f"coalesce(team, '{UNALLOCATED}')"), (f"{TAG_PREFIX}app", "app"),
             (f"{TAG_PREFIX}workspace", "workspace_name"), (f"{TAG_PREFIX}member", "member")]  # fmt: skip
    entries = ", ".join(f"struct_pack(key := '{k}', value := {v})" for k, v in pairs)
    return f"CAST(to_json(map_from_entries(list_filter([{entries}], lambda x: x.value IS NOT NULL))) AS VARCHAR)"


_NULL = "NULL::VARCHAR"
COLUMNS: tuple[Column, ...] = (
    Column("AvailabilityZone", _NULL),
    Column("BilledCost", "billed", "decimal"),
    Column("BillingAccountId", "account_id"),
    Column("BillingAccountName", "account_name"),
    Column("BillingCurrency", "'USD'"),
    Column("BillingPeriodEnd", "CAST(date_trunc('month', date) + INTERVAL 1 MONTH AS TIMESTAMP)", "datetime"),
    Column("BillingPeriodStart", "CAST(date_trunc('month', date) AS TIMESTAMP)", "datetime"),
    Column("ChargeCategory", "'Usage'"),
    Column("ChargeClass", _NULL),
    Column("ChargeDescription", "description"),
    Column("ChargeFrequency", "'Usage-Based'"),
    Column("ChargePeriodEnd", "CAST(date + INTERVAL 1 DAY AS TIMESTAMP)", "datetime"),
    Column("ChargePeriodStart", "CAST(date AS TIMESTAMP)", "datetime"),
    Column("CommitmentDiscountCategory", _NULL),
    Column("CommitmentDiscountId", _NULL),
    Column("CommitmentDiscountName", _NULL),
    Column("CommitmentDiscountStatus", _NULL),
    Column("CommitmentDiscountType", _NULL),
    Column("ConsumedQuantity", "tokens", "decimal"),
    Column("ConsumedUnit", "'Tokens'"),
    Column("ContractedCost", "list_cost", "decimal"),
    Column("ContractedUnitPrice", "list_unit_price", "decimal"),
    Column("EffectiveCost", "billed", "decimal"),
    Column("InvoiceIssuerName", f"'{SERVICE}'"),
    Column("ListCost", "list_cost", "decimal"),
    Column("ListUnitPrice", "list_unit_price", "decimal"),
    Column("PricingCategory", "'Standard'"),
    Column("PricingQuantity", "tokens", "decimal"),
    Column("PricingUnit", "'Tokens'"),
    Column("ProviderName", f"'{SERVICE}'"),
    Column("PublisherName", "publisher"),
    Column("RegionId", _NULL),
    Column("RegionName", _NULL),
    Column("ResourceId", "key"),
    Column("ResourceName", "key_name"),
    Column("ResourceType", "CASE WHEN key IS NOT NULL THEN 'API key' END"),
    Column("ServiceCategory", f"'{SERVICE_CATEGORY}'"),
    Column("ServiceName", f"'{SERVICE}'"),
    Column("SkuId", "model"),
    Column("SkuPriceId", "model || '@' || coalesce(strftime(price_state, '%Y-%m-%dT%H:%M:%SZ'), 'not-listed')"),
    Column("SubAccountId", "workspace_id"),
    Column("SubAccountName", "workspace_name"),
    Column("Tags", _tags()),
    # Beyond FOCUS 1.0: what this data knows that finance asks for, and what later FOCUS versions add.
    Column("x_Grain", "grain"),
    Column("x_Provider", "provider"),
    Column("x_ByokUpstreamCost", "byok", "decimal"),
    Column("x_ListPriceSource", "price_source"),
    Column("x_ListUnitPricePrompt", "price_prompt", "decimal"),
    Column("x_ListUnitPriceCompletion", "price_completion", "decimal"),
    Column("x_ListUnitPriceRequest", "price_request", "decimal"),
    Column("x_Requests", "requests", "decimal"),
    Column("x_PromptTokens", "prompt", "decimal"),
    Column("x_CachedPromptTokens", "cached", "decimal"),
    Column("x_CompletionTokens", "completion", "decimal"),
    Column("x_ReasoningTokens", "reasoning", "decimal"),
    Column("x_Team", f"coalesce(team, '{UNALLOCATED}')"),
    Column("x_AllocatedMethodId", "rule"),
    Column("x_AllocatedShare", "share", "decimal"),
    Column("x_ServiceSubcategory", "'Generative AI'"),
    Column("x_SubAccountType", "CASE WHEN workspace_id IS NOT NULL THEN 'Workspace' END"),
)
NAMES = tuple(c.name for c in COLUMNS)
FOCUS_COLUMNS = (*MANDATORY, *RECOMMENDED, *CONDITIONAL)

_ISO = "%Y-%m-%dT%H:%M:%SZ"


# FOCUS's Numeric Format allows no exponent, and DuckDB writes a double such as 0.00000012 as ``1.2e-07``: in
# CSV, decimals are written from their shortest round-trip text with the point moved instead (lossless), and
# a whole number keeps ``.0`` so that readers typing columns by their values (pandas, the official
# validator) still see a decimal. Temporary macros: they live on the reading connection only.
_DECIMAL_MACROS = r"""
CREATE OR REPLACE TEMP MACRO orusage_focus_shift(sign, digits, pos) AS CASE
    WHEN pos <= 0 THEN sign || '0.' || repeat('0', -pos) || digits
    WHEN pos >= length(digits) THEN sign || digits || repeat('0', pos - length(digits)) || '.0'
    ELSE sign || left(digits, pos) || '.' || substr(digits, pos + 1) END;
CREATE OR REPLACE TEMP MACRO orusage_focus_text(s, m) AS CASE
    WHEN m.exp = '' THEN (CASE WHEN contains(s, '.') THEN s ELSE s || '.0' END)
    ELSE orusage_focus_shift(m.sign, m.int || m.frac, length(m.int) + coalesce(TRY_CAST(m.exp AS INTEGER), 0)) END;
CREATE OR REPLACE TEMP MACRO orusage_focus_decimal(x) AS orusage_focus_text(CAST(x AS VARCHAR),
    regexp_extract(CAST(x AS VARCHAR), '^(-?)([0-9]+)(?:[.]([0-9]*))?e([-+][0-9]+)$', ['sign', 'int', 'frac', 'exp']));
"""


def _select(column: Column, text_times: bool) -> str:
    if column.kind == "datetime":
        value = f"strftime({column.sql}, '{_ISO}')" if text_times else f"timezone('UTC', {column.sql})"
    elif column.kind == "decimal":
        value = f"CAST({column.sql} AS DOUBLE)"
        value = f"orusage_focus_decimal({value})" if text_times else value
    else:
        value = f"CAST({column.sql} AS VARCHAR)"
    return f'{value} AS "{column.name}"'


@dataclass(frozen=True)
class Account:
    """BillingAccountId / BillingAccountName: settings, else derived from the store (``account``). In a store of
    several OpenRouter accounts (``per_account``) each row is billed to its own account: ``openrouter:`` and the
    id of that account's first workspace, named as the store names the account."""

    id: str
    name: str
    per_account: bool = False


def _body(r: Routes, account: Account, first: date, last: date, days: Sequence[date] | None) -> tuple[str, list[Any]]:
    """``WITH …, final AS (…)``: the allocation's rows of ``first..last`` (only ``days`` when given), priced and
    described, one per FOCUS row."""
    allocated, params = allocation_sql(r)
    grain = (
        "concat_ws('/', 'day', 'model', CASE WHEN key IS NOT NULL THEN 'api-key' ELSE 'keys-not-stored' END, "
        "CASE WHEN provider IS NOT NULL THEN 'provider' END, CASE WHEN share < 1 THEN 'team-share' END)"
    )
    listed = "price_prompt IS NOT NULL AND price_completion IS NOT NULL"
    described = (
        f"coalesce(model_name, model) || CASE WHEN NOT ({listed}) "
        "THEN ' tokens via OpenRouter (no list price stored)' "
        "ELSE printf(' tokens via OpenRouter, list $%.4f/M prompt, $%.4f/M completion', "
        "price_prompt * 1e6, price_completion * 1e6) END"
    )
    rows = (
        "SELECT * FROM allocated WHERE date BETWEEN ?::DATE AND ?::DATE "
        "AND (?::DATE[] IS NULL OR list_contains(?::DATE[], date))"
    )
    sql = f"""{allocated},
        {priced_cte(rows)},
        billing AS ({_BILLING}),
        focus_rows AS (
            SELECT p.*,
                   CASE WHEN ? THEN coalesce(b.id, 'openrouter:' || p.account) ELSE ? END AS account_id,
                   CASE WHEN ? THEN p.account ELSE ? END AS account_name,
                   spend - byok AS billed, prompt + completion AS tokens,
                   CASE WHEN {listed} THEN price_source ELSE 'not-listed' END AS price_source_,
                   CASE WHEN {listed}
                        THEN prompt * price_prompt + completion * price_completion + requests * price_request
                        ELSE spend END AS list_cost,
                   coalesce(nullif(trim(split_part(model_name, ':', 1)), ''), split_part(model, '/', 1)) AS publisher,
                   coalesce(k.name, left(p.key, 10)) AS key_name, w.id AS workspace_id, w.name AS workspace_name,
                   coalesce(m.email, nullif(trim(concat_ws(' ', m.first_name, m.last_name)), '')) AS member,
                   {grain} AS grain, {described} AS description
            FROM priced p LEFT JOIN billing b ON b.account = p.account LEFT JOIN api_keys k ON k.hash = p.key
                 LEFT JOIN workspaces w ON w.id = k.workspace_id AND w.account = k.account
                 LEFT JOIN organization_members m ON m.id = k.creator_user_id AND m.account = k.account),
        final AS (
            SELECT * EXCLUDE (price_source, price_source_), price_source_ AS price_source,
                   CASE WHEN tokens > 0 THEN list_cost / tokens WHEN list_cost = 0 THEN 0 END AS list_unit_price
            FROM focus_rows)"""  # noqa: S608 -- constants
    chosen = sorted(days) if days is not None else None
    per = account.per_account
    return sql, [*params, first, last, chosen, chosen, per, account.id, per, account.name]


def focus_sql(
    r: Routes, account: Account, first: date, last: date, text_times: bool, days: Sequence[date] | None = None
) -> tuple[str, list[Any]]:
    """The FOCUS rows of completed days ``first..last`` (only ``days`` when given), in a stable order.
    ``text_times``: timestamps as FOCUS's ISO text (CSV) rather than typed (Parquet)."""
    body, params = _body(r, account, first, last, days)
    sql = f"""{body}
        SELECT {", ".join(_select(c, text_times) for c in COLUMNS)}
        FROM final
        ORDER BY date, model, key NULLS LAST, provider NULLS LAST, team NULLS LAST, app NULLS LAST"""  # noqa: S608
    return sql, params


@dataclass(frozen=True)
class DayTotal:
    rows: int
    billed: float
    byok: float


def day_totals(
    con: duckdb.DuckDBPyConnection,
    r: Routes,
    account: Account,
    first: date,
    last: date,
    days: Sequence[date] | None = None,
) -> dict[date, DayTotal]:
    """Per day, the rows, Σ BilledCost and Σ x_ByokUpstreamCost the FOCUS rows hold."""
    body, params = _body(r, account, first, last, days)
    found = con.sql(
        f"{body} SELECT date, count(*), CAST(sum(billed) AS DOUBLE), CAST(sum(byok) AS DOUBLE) "  # noqa: S608
        "FROM final GROUP BY date",
        params=params,
    ).fetchall()
    return {row[0]: DayTotal(int(row[1]), float(row[2]), float(row[3])) for row in found}


def relation(
    con: duckdb.DuckDBPyConnection,
    r: Routes,
    account: Account,
    first: date,
    last: date,
    text_times: bool,
    days: Sequence[date] | None = None,
) -> duckdb.DuckDBPyRelation:
    if text_times:
        con.execute(_DECIMAL_MACROS)
    sql, params = focus_sql(r, account, first, last, text_times, days)
    return con.sql(sql, params=params)


def write(
    con: duckdb.DuckDBPyConnection,
    r: Routes,
    account: Account,
    first: date,
    last: date,
    days: Sequence[date] | None,
    file_type: str,
    compress: bool,
    target: Path,
) -> None:
    """Write the rows to ``target``: CSV (gzip when ``compress``) or zstd Parquet. A failure removes the file."""
    con.execute("SET enable_progress_bar = false")  # DuckDB draws one on a terminal; the CLI says what it did
    rel = relation(con, r, account, first, last, text_times=file_type == "csv", days=days)
    try:
        if file_type == "csv":
            rel.write_csv(str(target), header=True, compression="gzip" if compress else "none")
        else:
            rel.write_parquet(str(target), compression="zstd")
    except (duckdb.IOException, OSError) as exc:
        target.unlink(missing_ok=True)
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"cannot write {target}: {line}", "Check the folder's permissions and free space.") from None


# Each account's billing id: ``openrouter:`` and its first workspace's id (its default one, made with the
# account: stable, and unique to the account).
_BILLING = """SELECT account, 'openrouter:' || arg_min(id, (created_at IS NULL, created_at, first_seen_at, id)) AS id
              FROM workspaces GROUP BY account"""


def account(con: duckdb.DuckDBPyConnection, account_id: str | None, account_name: str | None) -> Account:
    """The billing account: the settings' values, else ``openrouter:`` and the id of the account's first
    workspace (its default one, made with the account: stable, and unique to the account). A store of several
    accounts bills each row to its own (``Account.per_account``; the settings name one account only)."""
    if len(accounts.known(con)) > 1:
        return Account(id="", name="", per_account=True)
    found = con.sql("SELECT id FROM workspaces ORDER BY created_at NULLS LAST, first_seen_at, id LIMIT 1").fetchall()
    derived = f"openrouter:{found[0][0]}" if found else "openrouter"
    return Account(id=account_id or derived, name=account_name or "OpenRouter account")


# ---- what a scheduled export needs: which days are final, and a fingerprint of each day's data -------------

# A day is final once a source holding it for the whole account was fetched at least this long after the
# day ended (OpenRouter settles late usage within hours; the ingest's analytics plan waits as long).
SETTLE_HOURS = 6


def final_days(con: duckdb.DuckDBPyConnection, first: date, last: date) -> list[date]:
    """Completed days of ``first..last`` whose account-wide data was fetched after they settled."""
    rows = con.sql(
        f"""WITH days AS (
                SELECT CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE) AS day, fetched_at
                FROM coverage
                WHERE scope = '' AND (source = 'activity' OR (source = 'analytics' AND dimensions = 'model'
                                                              AND metrics = 'long')))
            SELECT DISTINCT day FROM days
            WHERE fetched_at >= CAST(day AS TIMESTAMP) + INTERVAL 1 DAY + INTERVAL {SETTLE_HOURS} HOUR
              AND day BETWEEN ? AND ?
            ORDER BY day""",  # noqa: S608 -- a numeric constant
        params=[first, last],
    ).fetchall()
    return [row[0] for row in rows]


_FINGERPRINTED = (
    "model",
    "provider",
    "app",
    "key",
    "requests",
    "prompt",
    "completion",
    "reasoning",
    "cached",
    "spend",
    "byok",
)


def day_fingerprints(con: duckdb.DuckDBPyConnection, r: Routes) -> dict[date, str]:
    """Per day of the routes, an md5 of every stored row the day's FOCUS rows are made of (the account's,
    the keys' and the apps'), each value as DuckDB writes it: equal fingerprints mean OpenRouter's numbers
    for the day are the ones exported. Raw rows, not sums, so the order DuckDB sums in cannot change it."""
    parts, params = [], []
    for name, routed in (("account", r.account), ("keys", r.keys), ("apps", r.apps)):
        rows, found = rows_sql(routed, everything(routed.start, routed.end))
        fields = " || '|' || ".join(f"coalesce(CAST({c} AS VARCHAR), '-')" for c in _FINGERPRINTED)
        parts.append(f"SELECT date, '{name}' || '|' || {fields} AS line FROM ({rows}) r")  # noqa: S608
        params += found
    sql = f"""SELECT date, md5(string_agg(line, chr(10) ORDER BY line)) FROM ({" UNION ALL ".join(parts)}) x
              GROUP BY date"""  # noqa: S608 -- constants
    return {row[0]: str(row[1]) for row in con.sql(sql, params=params).fetchall()}


__all__ = [
    "APP_RULE",
    "COLUMNS",
    "CONDITIONAL",
    "FOCUS_COLUMNS",
    "KEY_RULE",
    "MANDATORY",
    "MEMBER_RULE",
    "NAMES",
    "RECOMMENDED",
    "Account",
    "account",
    "day_fingerprints",
    "final_days",
    "focus_sql",
    "relation",
]
