"""`orusage import FILE...`: website exports → ``generations``, all files of one command or none.

Every file is read whole before anything is committed: its header must be an export's (either layout,
any column order), it must end with a line break (a file cut mid-row does not), every row must be
complete with an id and a time (a first read, before any write, checks that), and every value must be
UTF-8 and of its column's type (checked as the files are streamed into the table, all in one transaction:
the first problem rolls it back). A bad file therefore leaves the store exactly as it was, and one line
names the file, the line and the problem. Reading twice costs less than staging a copy: the first read
converts two columns only.

Values that cannot be are refused the same way (``core.limits``): a cost that is not finite, negative (but
``cost_cache``, what caching saved) or beyond $10 M, a token count that is not a whole number in [0, 2^53),
a time before 2020-01-01 or after tomorrow. Columns the import does not know are ignored, however many; a
file must be a regular file (not a pipe or a device) of at most ``MAX_FILE_BYTES``.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import EXIT_USAGE, OrusageError
from core.limits import FIRST_DAY
from ingest.values import InvalidValue, check_time, count, measure, money, parse_utc_time
from ingest.website_csv.fingerprint import Fingerprint, fingerprint
from ingest.website_csv.layout import CSV_TYPES, Layout, LayoutError, detect, explain_csv_error, interior_days
from queries import accounts, reconciliation, writes
from queries import generations as store
from queries import website_csv as csv_sql
from queries.crashpoints import crashpoint
from queries.store import Writer

if TYPE_CHECKING:
    import duckdb

HEADER_LIMIT = 1 << 20  # an export's header is a few hundred bytes; unknown columns may make it longer
MAX_FILE_BYTES = 64 << 30  # 10 M generations are about 2.5 GB
COUNT_COLUMNS = frozenset({"tokens_prompt", "tokens_completion", "tokens_reasoning", "tokens_cached"})
MEASURE_COLUMNS = frozenset({"generation_time_ms", "time_to_first_token_ms"})
HINT = "Nothing was imported. Export the activity again on openrouter.ai and import the complete file."


class WebsiteCsvError(OrusageError):
    """A file that is not a complete, readable activity export."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class CheckedFile:
    path: Path
    layout: Layout
    scan: csv_sql.CsvScan

    @property
    def first_day(self) -> date | None:
        return self.scan.first_day

    @property
    def last_day(self) -> date | None:
        return self.scan.last_day


@dataclass(frozen=True)
class SkippedFile:
    """A file recognised by its fingerprint as one imported before: not read again."""

    path: Path
    before: csv_sql.ImportedFile
    fingerprint: Fingerprint


@dataclass
class ImportResult:
    files: list[CheckedFile] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    rows: int = 0  # rows in the files
    new: int = 0  # generations stored now that were not before
    with_api: int = 0  # merged into records /generation had already given
    keys_linked: int = 0
    apps_linked: int = 0
    differences: int = 0


def _fail(path: Path, line: int | None, reason: str) -> WebsiteCsvError:
    where = f"line {line}: " if line is not None else ""
    return WebsiteCsvError(f"{path}: {where}{reason}.", HINT)


def _line_count(path: Path) -> int:
    count = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def _regular_file(path: Path) -> None:
    """Only a regular file of bounded size is read: a pipe or a device (``/dev/zero``) could be read for ever."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise WebsiteCsvError(f"cannot read {path}: {exc.strerror or exc}.", "Check the path.") from None
    if not stat.S_ISREG(info.st_mode):
        raise WebsiteCsvError(
            f"{path} is not a regular file (a pipe, a device or a socket).",
            "Save the export to a file, then import it.",
        )
    if info.st_size > MAX_FILE_BYTES:
        raise WebsiteCsvError(
            f"{path} is {info.st_size / (1 << 30):,.1f} GiB, more than {MAX_FILE_BYTES >> 30} GiB.",
            "Export a shorter period on openrouter.ai, in several files.",
        )


def read_header(path: Path) -> Layout:
    """The file's layout, from its first line; the cheap checks that need no full read."""
    _regular_file(path)
    tail = b""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEADER_LIMIT)
            size = fh.seek(0, io.SEEK_END)
            fh.seek(max(0, size - HEADER_LIMIT))
            tail = fh.read()
    except OSError as exc:
        raise WebsiteCsvError(f"cannot read {path}: {exc.strerror or exc}.", "Check the path.") from None
    if not head:
        raise _fail(path, 1, "the file is empty, not an OpenRouter activity export")
    first, newline, _ = head.partition(b"\n")
    if not newline and size > len(head):
        raise _fail(path, 1, "no line break in the first 1 MB: not an OpenRouter activity export")
    try:
        text = first.decode("utf-8").removeprefix("\ufeff").rstrip("\r")
    except UnicodeDecodeError:
        raise _fail(path, 1, "bytes that are not UTF-8: not an OpenRouter activity export (a CSV in UTF-8)") from None
    try:
        # Strictly: DuckDB reads the header as CSV too, and a stray quote there would make it swallow the
        # lines below as part of the header, importing the file as one of 0 rows.
        header = next(csv.reader([text], strict=True))
        layout = detect(header)
    except csv.Error as exc:
        raise _fail(path, 1, f"the header is not valid CSV ({exc}): not an OpenRouter activity export") from None
    except (StopIteration, LayoutError) as exc:
        raise _fail(path, 1, str(exc) or "not an OpenRouter activity export") from None
    if not tail.endswith(b"\n"):
        # Every CSV writer ends each row with a line break; a file without one at its end was cut short.
        line = _line_count(path) + 1
        if tail.rpartition(b"\n")[2].count(b'"') % 2:
            raise _fail(path, line, "a quoted value is never closed: the file looks cut short")
        raise WebsiteCsvError(
            f"{path}: line {line}: the file ends in the middle of a row: it looks cut short.",
            HINT + " (If it is complete, end it with a line break.)",
        )
    return layout


def _rows(path: Path, layout: Layout) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, values by column) of every row, as Python's csv module reads them (for finding a bad line)."""
    names = list(layout.csv_types)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row in reader:
            yield reader.line_num, dict(zip(names, row, strict=False))


def _first_bad_line(path: Path, layout: Layout) -> int | None:
    """The line of the first row without an id or a time (rare: only then is the file read again)."""
    for line, values in _rows(path, layout):
        if not values.get("generation_id", "").strip() or not values.get("created_at", "").strip():
            return line
    return None


def value_problem(column: str, text: str, today: date) -> str | None:
    """Why one value of a known column cannot be (``ingest.values``' rules), or None."""
    value = text.strip()
    if not value:
        return None
    try:
        if column == "created_at":
            check_time(column, parse_utc_time(value), today)
        elif column in COUNT_COLUMNS:
            count(column, value)
        elif column in MEASURE_COLUMNS:
            measure(column, value)
        elif CSV_TYPES.get(column) == "DOUBLE":
            money(column, value)
    except InvalidValue as exc:
        return str(exc)
    except ValueError:
        return None  # not of its type at all: DuckDB's reader says so, with its own line
    return None


def _impossible(path: Path, layout: Layout, column: str, today: date) -> WebsiteCsvError:
    """The error for the first value of ``column`` that cannot be, with its line (found by a second read,
    rare: only a refused file pays for it)."""
    for line, values in _rows(path, layout):
        problem = value_problem(column, values.get(column, ""), today)
        if problem:
            return _fail(path, line, problem)
    return _fail(path, None, f"{column} has a value that cannot be")


def check_file(con: duckdb.DuckDBPyConnection, path: Path, today: date) -> CheckedFile:
    """Read one file whole for its shape, ids and times (nothing is written); raises WebsiteCsvError naming
    the file and line. ``today``: the UTC day of the import (times may reach tomorrow, not beyond)."""
    layout = read_header(path)
    try:
        scan = csv_sql.scan_csv(con, path, layout.csv_types, layout.mapping)
    except csv_sql.CsvRejected as exc:
        line, reason = explain_csv_error(str(exc))
        raise _fail(path, line, reason) from None
    if scan.without_id or scan.without_time:
        what = "a row without a generation_id" if scan.without_id else "a row without a created_at"
        raise _fail(path, _first_bad_line(path, layout), what)
    latest = today + timedelta(days=1)
    if (scan.first_day is not None and scan.first_day < FIRST_DAY) or (
        scan.last_day is not None and scan.last_day > latest
    ):
        raise _impossible(path, layout, "created_at", today)
    return CheckedFile(path, layout, scan)


def import_files(
    writer: Writer,
    paths: Sequence[Path],
    *,
    clock: Callable[[], datetime],
    today: date | None = None,
    force: bool = False,
) -> ImportResult:
    """Check every file, then load them all in one transaction (a bad value, or a kill, loses the whole
    import and nothing else), then refresh the reconciliation. A file imported before (same fingerprint)
    is skipped unless ``force``."""
    with csv_sql.utc_session(writer.con):
        return _import(writer, paths, clock, today, force)


def _fingerprints(paths: Sequence[Path]) -> dict[Path, Fingerprint]:
    found: dict[Path, Fingerprint] = {}
    for path in dict.fromkeys(p.resolve() for p in paths):
        _regular_file(path)  # never a pipe or a device: it could be read for ever
        try:
            found[path] = fingerprint(path)
        except OSError as exc:
            raise WebsiteCsvError(f"cannot read {path}: {exc.strerror or exc}.", "Check the path.") from None
    return found


def _import(
    writer: Writer, paths: Sequence[Path], clock: Callable[[], datetime], today: date | None, force: bool
) -> ImportResult:
    result = ImportResult()
    prints = _fingerprints(paths)
    if not force:
        for path, fp in list(prints.items()):
            before = csv_sql.imported_before(writer.con, fp.size_bytes, fp.head_tail_sha256, fp.lines)
            if before is not None:
                result.skipped.append(SkippedFile(path, before, fp))
                del prints[path]
    if not prints:
        # Nothing new: nothing read, nothing written. Unless the import that stored these files was killed
        # before it published: then the snapshot does not know them yet, and this run publishes it.
        known = [
            (s.fingerprint.size_bytes, s.fingerprint.head_tail_sha256, s.fingerprint.lines) for s in result.skipped
        ]
        if not csv_sql.snapshot_knows(writer.db_path, known, accounts.current(writer.con)):
            writer.changed()
        return result
    day = today or clock().date()
    result.files = [check_file(writer.con, path, day) for path in prints]
    result.rows = sum(f.scan.rows for f in result.files)
    result.with_api = sum(f.scan.with_api for f in result.files)
    with writer.transaction() as con:
        before_count = csv_sql.generation_count(con)
        for f in result.files:
            try:
                csv_sql.load_csv(
                    con,
                    f.path,
                    f.layout.csv_types,
                    f.layout.mapping,
                    imported_at=clock(),
                    dedupe=f.scan.repeated_ids > 0,
                    merge=f.scan.stored > 0,
                    new=f.scan.stored < f.scan.rows,
                )
            except csv_sql.ImpossibleValue as exc:  # rolled back too
                raise _impossible(f.path, f.layout, exc.column, day) from None
            except csv_sql.CsvRejected as exc:  # the transaction is rolled back: nothing of any file is stored
                line, reason = explain_csv_error(str(exc))
                raise _fail(f.path, line, reason) from None
            inside = interior_days(f.first_day, f.last_day) if f.first_day and f.last_day else None
            if inside:
                writes.record_coverage(
                    con,
                    source="generations",
                    dimensions="",
                    scope="export",
                    metrics="",
                    first_day=inside[0],
                    last_day=inside[1],
                    fetched_at=clock(),
                    rows_received=f.scan.rows,
                )
            crashpoint("import-file-loaded")
        result.new = csv_sql.generation_count(con) - before_count
        links = store.link_identities(con)
    result.keys_linked, result.apps_linked = links.keys, links.apps
    with writer.transaction() as con:
        result.differences = len(reconciliation.reconcile(con, today or clock().date(), clock()))
        # Noted last, with the import's last unit: a run killed before this reads the files again.
        for f in result.files:
            fp = prints[f.path]
            csv_sql.record_imported(
                con, fp.size_bytes, fp.head_tail_sha256, fp.lines, path=f.path, rows=f.scan.rows, imported_at=clock()
            )
    return result
