"""Fuzzed website exports through the real importer, into a real DuckDB store.

Hypothesis (derandomised, EXAMPLES inputs) writes export files: both layouts, columns in any order, unknown
columns, any line ending, a byte-order mark or none, and rows with random values of every column (any
Unicode text, quotes, commas and line breaks inside values, floats of every size, times with and without an
offset). Most are then damaged: cut short, a stray quote, bytes that are not UTF-8, a value of the wrong
type, a row with a value too many or too few, a header without a column or with one twice, a row without
its id or time, a value that cannot be (a cost that is NaN, infinite, negative or beyond $10 M; a token count
that is not a whole number in [0, 2^53); a negative duration; a time before 2020 or after tomorrow).

Each file is judged by an oracle written from the docs' rules alone (Python's csv module, the column
types of the export): it holds these exact rows, or it must be refused. The importer must then have stored
exactly those rows (every mapped column compared) or, for a damaged file, may refuse it; and a refused file
gives one line naming the file, raised as the importer's user-facing error (never another exception), with
nothing stored changed. The CLI's exit status and one-line output for bad files are in test_import.py.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ingest.website_csv.layout import CSV_TYPES, LAYOUT_2026, LAYOUT_OLDER, MAPPING
from ingest.website_csv.load import WebsiteCsvError, import_files
from queries.generations import ident
from queries.store import Writer

EXAMPLES = 200
FUZZ = settings(
    derandomize=True,
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NOW = datetime(2026, 11, 20, 15, 30)
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=NOW)  # with any offset: up to tomorrow, UTC
SOURCE_OF = {source: target for target, source in MAPPING}  # export column -> generations column
# What a refused import must leave as it was (and an accepted one, apart from its own rows), as a count and an
# order-free sum of row hashes (reading every row back for every example would cost more than the imports).
STORED = {
    "generations": "SELECT count(*), sum(hash(g)) FROM generations g WHERE NOT list_contains($ids, id)",
    "coverage": "SELECT count(*), sum(hash(c)) FROM coverage c",
    "app_labels": "SELECT count(*), sum(hash(a)) FROM app_labels a",
}

# ---- generated files ------------------------------------------------------------------------------------

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # any Unicode, \x00 \r \n " , included
amounts = st.floats(0, 10_000_000) | st.integers(0, 10_000_000).map(float)
signed_amounts = st.floats(-10_000_000, 10_000_000)
durations = st.floats(0, 1e9) | st.integers(0, 10**9).map(float)
offsets = st.none() | st.integers(-14 * 60, 14 * 60).map(lambda m: timedelta(minutes=m))


def _moment_text(moment: datetime, offset: timedelta | None, sep: str) -> str:
    """As an export writes it (``2026-02-06 18:54:30.040``), to the microsecond, with an offset or none."""
    text = moment.isoformat(sep=sep, timespec="microseconds" if moment.microsecond % 1000 else "milliseconds")
    if offset is None:
        return text
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{text}{'-' if offset < timedelta(0) else '+'}{minutes // 60:02d}:{minutes % 60:02d}"


def _cell(column: str) -> st.SearchStrategy[str]:
    """Valid values of ``column``, as the file's text ("" is NULL)."""
    kind = CSV_TYPES.get(column, "VARCHAR")
    if column == "created_at":
        return st.builds(_moment_text, moments, offsets, st.sampled_from(" T"))
    if kind == "DOUBLE" and column in ("cost_cache",):
        return st.just("") | signed_amounts.map(repr)
    if kind == "DOUBLE" and column.endswith("_ms"):
        return st.just("") | durations.map(repr)
    if kind == "VARCHAR":
        return texts  # for generation_id, what follows the file's prefix
    if kind == "BOOLEAN":
        value = st.sampled_from(["true", "false", "TRUE", "False"])
    elif SOURCE_OF[column].startswith(("tokens_", "native_tokens_")):  # a count, stored as BIGINT
        value = st.integers(0, 2**53 - 1).flatmap(lambda n: st.sampled_from([str(n), f"{n}.0"]))
    else:
        value = amounts.map(repr) | st.integers(0, 10**7).map(str)
    return st.just("") | value


CELLS = {column: _cell(column) for column in LAYOUT_2026}


@dataclass
class Export:
    header: list[str]
    rows: list[list[str]]
    newline: str
    bom: bool
    quote_all: bool  # every value quoted, or only those that need it (as the website's exporter does)
    damage: str = ""  # what was done to it ("" for a valid file)

    def _field(self, value: str) -> str:
        # Python's csv.writer leaves a lone \r unquoted when rows end in \n: exporters quote it.
        if self.quote_all or any(c in value for c in ',"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    def render(self) -> bytes:
        lines = [",".join(map(self._field, values)) + self.newline for values in [self.header, *self.rows]]
        return ("\ufeff" if self.bom else "").encode() + "".join(lines).encode("utf-8")


_counter = itertools.count()


@st.composite
def files(draw: st.DrawFn) -> tuple[Export, str]:
    """A valid export and the prefix every id of it starts with (unique to the file)."""
    columns = list(draw(st.sampled_from([LAYOUT_2026, LAYOUT_OLDER])))
    extras = draw(st.lists(st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8), max_size=3))
    columns += [f"x_{name}" for name in dict.fromkeys(extras)]
    columns = draw(st.permutations(columns))
    header = [draw(st.sampled_from([name, f" {name}", f"{name} "])) for name in columns]
    prefix = f"fz{next(_counter)}-"
    rows = [list(row) for row in draw(st.lists(st.tuples(*(CELLS.get(name, texts) for name in columns)), max_size=5))]
    at = columns.index("generation_id")
    for i, row in enumerate(rows):
        row[at] = f"{prefix}{i}{row[at]}"
    newline, bom, quote_all = draw(st.sampled_from(["\n", "\r\n"])), draw(st.booleans()), draw(st.booleans())
    return Export(header, rows, newline, bom, quote_all), prefix


WRONG = st.text("bcdghjkmpqvwxz", min_size=1, max_size=4).flatmap(
    lambda word: st.sampled_from([word, f"12{word}", f"{word}.5", "1,5", "--1", "2026-13-01 00:00:00"])
)
NOT_UTF8 = [b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\xe2\x82"]
ROW_DAMAGE = ["wrong-type", "value-too-many", "value-too-few", "no-id", "no-time", "column-dropped", "column-twice",
              "impossible"]  # fmt: skip
IMPOSSIBLE = {  # values that cannot be, by the kind of column
    "money": ["nan", "inf", "-inf", "-0.5", "1e30", "10000000.5"],
    "signed_money": ["nan", "inf", "-1e8", "2e7"],
    "count": ["nan", "-1", "0.5", "1e30", "9007199254740992"],
    "duration": ["nan", "inf", "-1"],
    "time": ["0001-01-01 00:00:00", "9999-12-31 23:59:59", "2019-12-31 23:00:00", "2026-11-22 00:00:01"],
}


def _kind(column: str) -> str:
    if column == "created_at":
        return "time"
    if column == "cost_cache":
        return "signed_money"
    if column.endswith("_ms"):
        return "duration"
    return "count" if column.startswith("tokens_") else "money"


BYTE_DAMAGE = ["cut", "stray-quote", "not-utf8"]


@st.composite
def exports(draw: st.DrawFn) -> tuple[bytes, Export, str]:
    """A file's bytes: a valid export, or (mostly) a damaged one."""
    export, prefix = draw(files())
    columns = [name.strip() for name in export.header]
    damage = draw(st.sampled_from(["", "", "", *ROW_DAMAGE, *BYTE_DAMAGE]))  # "": valid
    export.damage = damage
    if damage in ROW_DAMAGE and damage not in ("column-dropped", "column-twice") and not export.rows:
        export.rows.append(_blank_row(columns, prefix))
    row = draw(st.integers(0, max(0, len(export.rows) - 1)))
    if damage == "wrong-type":
        typed = [i for i, name in enumerate(columns) if CSV_TYPES.get(name, "VARCHAR") != "VARCHAR"]
        export.rows[row][draw(st.sampled_from(typed))] = draw(WRONG)
    elif damage == "value-too-many":
        export.rows[row].append(draw(texts))
    elif damage == "value-too-few":
        export.rows[row].pop(draw(st.integers(0, len(columns) - 1)))
    elif damage == "impossible":
        checked = [i for i, name in enumerate(columns) if CSV_TYPES.get(name) in ("DOUBLE", "TIMESTAMPTZ")]
        at = draw(st.sampled_from(checked))
        export.rows[row][at] = draw(st.sampled_from(IMPOSSIBLE[_kind(columns[at])]))
    elif damage in ("no-id", "no-time"):
        export.rows[row][columns.index("generation_id" if damage == "no-id" else "created_at")] = ""
    elif damage == "column-dropped":
        drop = draw(st.integers(0, len(columns) - 1))
        export.header.pop(drop)
        for values in export.rows:
            values.pop(drop)
    elif damage == "column-twice":
        twice = draw(st.integers(0, len(columns) - 1))
        export.header.append(export.header[twice])
        for values in export.rows:
            values.append(values[twice])
    data = export.render()
    if damage == "cut":
        # Anywhere but right after a line break: a file cut there would be a whole, shorter one.
        ends = [i for i in range(1, len(data)) if data[i - 1 : i] != b"\n"]
        data = data[: draw(st.sampled_from(ends))] if ends else data[:0]
    elif damage == "stray-quote":  # anywhere, the header included
        data = _insert(data, b'"', draw(st.integers(0, len(data))))
    elif damage == "not-utf8":
        data = _insert(data, draw(st.sampled_from(NOT_UTF8)), draw(st.integers(0, len(data))))
    return data, export, prefix


def _blank_row(columns: list[str], prefix: str) -> list[str]:
    return [
        f"{prefix}0" if c == "generation_id" else "2026-11-01 00:00:00" if c == "created_at" else "" for c in columns
    ]


def _insert(data: bytes, what: bytes, at: int) -> bytes:
    return data[:at] + what + data[at:]


# ---- the oracle: the docs' rules, with Python's csv module ----------------------------------------------

NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]\d+)?")


class Refuse(Exception):
    """The file breaks one of the docs' rules: it must not be imported."""


def _typed(kind: str, text: str) -> Any:
    if text == "":
        return None
    if kind == "VARCHAR":
        return text
    if kind == "BOOLEAN":
        if text.lower() not in ("true", "false"):
            raise Refuse(text)
        return text.lower() == "true"
    if kind == "DOUBLE":
        if not NUMBER.fullmatch(text):
            raise Refuse(text)
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Refuse(text) from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _impossible(column: str, value: Any) -> bool:
    """The docs' rules on values (docs/commands.md, "What is refused")."""
    if value is None or CSV_TYPES[column] not in ("DOUBLE", "TIMESTAMPTZ"):
        return False
    kind = _kind(column)
    if kind == "time":
        return not datetime(2020, 1, 1) <= value < datetime(2026, 11, 22)  # NOW's tomorrow, UTC, included
    if not math.isfinite(value):
        return True
    if kind == "count":
        return value != math.floor(value) or not 0 <= value < 2**53
    if kind == "duration":
        return value < 0
    return abs(value) > 10_000_000 or (value < 0 and kind == "money")


def _undecodable(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)


def oracle(data: bytes) -> list[dict[str, Any]]:
    """The rows (``generations`` column -> value) the file holds, or Refuse."""
    if not data.endswith(b"\n"):
        raise Refuse("cut short")
    text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")  # bad bytes kept, marked
    # The header is the first line; it and the rows are read strictly.
    first, _, rest = text.partition("\n")
    try:
        names = [name.strip() for name in next(csv.reader([first.removesuffix("\r")], strict=True), [])]
        records = list(csv.reader(io.StringIO(rest, newline=""), strict=True))
    except csv.Error:
        raise Refuse("not CSV") from None
    if any(map(_undecodable, names)):
        raise Refuse("not UTF-8")
    if len(set(names)) != len(names) or not set(LAYOUT_OLDER) <= set(names):
        raise Refuse("not an export's header")
    rows = []
    for values in records:
        if len(values) > len(names) and not any(values[len(names) :]):
            # DuckDB's reader takes empty values past the header's width for trailing delimiters (`a,b,`):
            # nothing is lost, so the oracle reads them the same way.
            values = values[: len(names)]
        if len(values) != len(names):
            raise Refuse("a row of another width")
        cells = dict(zip(names, values, strict=True))
        if any(map(_undecodable, values)):
            raise Refuse("not UTF-8")
        row = {SOURCE_OF[name]: _typed(CSV_TYPES[name], value) for name, value in cells.items() if name in SOURCE_OF}
        if not (row["id"] or "").strip(" ") or row["created_at"] is None:
            raise Refuse("a row without id or time")
        if any(_impossible(name, row[SOURCE_OF[name]]) for name in cells if name in SOURCE_OF):
            raise Refuse("a value that cannot be")
        for target in ("tokens_prompt", "tokens_completion", "native_tokens_reasoning", "native_tokens_cached"):
            if row[target] is not None:
                row[target] = round(row[target])
        rows.append(row)
    return rows


# ---- the test -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def writer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Writer]:
    """One store for every example (a fresh one each would cost more than the import): each file's ids are
    its own, so what one import stored is told apart from the rest by its ids."""
    with Writer(tmp_path_factory.mktemp("fuzz-store") / "orusage.duckdb") as store:
        yield store


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-files")


def _stored(writer: Writer, ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """What the store holds, but the rows of these ids."""
    return {
        name: writer.con.execute(sql, {"ids": ids} if "$ids" in sql else {}).fetchall() for name, sql in STORED.items()
    }


def _same(got: Any, want: Any) -> bool:
    return bool(got == want) and type(got) is type(want)


@pytest.mark.slow
@pytest.mark.reliability("fuzz", examples=EXAMPLES)
@FUZZ
@given(case=exports())
def test_an_export_is_imported_exactly_or_refused_with_one_line(
    case: tuple[bytes, Export, str], writer: Writer, folder: Path
) -> None:
    data, export, prefix = case
    path = folder / f"{prefix}export.csv"
    path.write_bytes(data)
    try:
        expected: list[dict[str, Any]] | None = oracle(data)
    except Refuse:
        expected = None
    ids = [row["id"] for row in expected or []]
    before = _stored(writer, ids)
    try:
        result = import_files(writer, [path], clock=lambda: NOW, today=NOW.date())
    except WebsiteCsvError as exc:
        event(f"{export.damage or 'valid'}: refused")
        message = str(exc)
        assert "\n" not in message and message.startswith(f"{path}: "), message
        assert expected is None or export.damage, f"a valid file was refused: {message}"
        assert _stored(writer, []) == _stored(writer, []) and _stored(writer, ids) == before, (
            "a refusal changed the store"
        )
        return
    event(f"{export.damage or 'valid'}: imported")
    assert expected is not None, f"a file that breaks the rules was imported ({export.damage or 'valid'})"
    assert result.rows == len(expected) and result.new == len(expected)
    assert _stored(writer, ids)["generations"] == before["generations"], "an import changed other rows"
    targets = ["id", *dict.fromkeys(t for row in expected for t in row if t != "id")]
    found = writer.con.execute(
        f"SELECT {', '.join(map(ident, targets))} FROM generations WHERE list_contains($ids, id)", {"ids": ids}
    ).fetchall()
    stored = {row[0]: dict(zip(targets, row, strict=True)) for row in found}
    assert len(stored) == len(expected)
    for want in expected:
        got = stored[want["id"]]
        wrong = {t: (got[t], value) for t, value in want.items() if not _same(got[t], value)}
        assert not wrong, f"{want['id']!r}: (stored, written) {wrong}"


# ---- what the fuzzing found ---------------------------------------------------------------------------------
# Minimal cases of what exploring with random seeds (2,500 inputs a run) found, kept as regressions: both
# imported a damaged file without a word (the first as a file of 0 rows).


def _export_text(header: list[str], rows: int) -> str:
    row = dict.fromkeys(header, "")
    row.update(created_at="2026-11-01 00:00:00.000", cost_total="0.5", model_permaslug="openai/gpt-4o")
    lines = [",".join(f'"{name}"' for name in header)]
    lines += [",".join(dict(row, generation_id=f"gen-{i}").values()) for i in range(rows)]
    return "\n".join(lines) + "\n"


def test_a_stray_quote_in_the_header_refuses_the_file(writer: Writer, folder: Path) -> None:
    path = folder / "stray-quote-in-header.csv"
    path.write_text(_export_text(list(LAYOUT_2026), 2).replace('"api_key_disabled"', '""api_key_disabled"'))
    try:
        result = import_files(writer, [path], clock=lambda: NOW, today=NOW.date())
    except WebsiteCsvError:
        return
    assert result.rows == 2, f"imported as a file of {result.rows} rows: the file's 2 rows were dropped"


def test_bytes_not_utf8_in_an_ignored_column_refuse_the_file(writer: Writer, folder: Path) -> None:
    path = folder / "not-utf8-in-an-ignored-column.csv"
    path.write_bytes(_export_text([*LAYOUT_2026, "note"], 1).encode().replace(b",\n", b",\xff\n"))
    with pytest.raises(WebsiteCsvError, match="not UTF-8"):
        import_files(writer, [path], clock=lambda: NOW, today=NOW.date())
