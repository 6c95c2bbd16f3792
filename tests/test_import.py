"""`orusage import` of website exports written by the fake from its own data: both layouts, any column order,
merged with /generation records, idempotent, and a bad file refused whole with one line and exit status 2."""

from __future__ import annotations

import csv
import hashlib
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import SecretStr

from fake_openrouter.dataset import Dataset
from fake_openrouter.server import FakeServer
from fake_openrouter.website_csv import write_website_csv
from ingest.client import OpenRouterClient
from ingest.generations.job import GenerationOptions
from ingest.job import run_ingest
from ingest.pacing import Pacer
from ingest.website_csv import load as load_module
from ingest.website_csv.fingerprint import EDGE, Fingerprint, fingerprint
from ingest.website_csv.load import ImportResult, import_files
from orusage.status import activity_gaps
from queries.crashpoints import ENV as CRASHPOINT
from queries.store import Writer, snapshot_path
from tests.fake_fixtures import MANAGEMENT_KEY, start_fake
from tests.helpers import query, run_cli, same_rows

NOW = datetime(2026, 11, 20, 15, 30)
FIRST, END = datetime(2026, 11, 10), datetime(2026, 11, 20)  # ten whole days
CONTENTS = "SELECT * EXCLUDE (imported_at) FROM generations ORDER BY id"


def ingest(db: Path, server: FakeServer, generations: GenerationOptions | None = None) -> None:
    with Writer(db) as writer, OpenRouterClient(server.base_url, SecretStr(MANAGEMENT_KEY), backoff=0.01) as c:
        run_ingest(writer, c, clock=lambda: NOW, analytics=False, generations=generations, pacer=Pacer(100_000))


def import_(db: Path, *files: Path, **env: str) -> tuple[int, str]:
    """`orusage import` as a user runs it: (exit status, output)."""
    result = run_cli(["import", "--db", str(db), *map(str, files)], env)
    return result.returncode, (result.stdout + result.stderr).strip()


def load(db: Path, *files: Path, force: bool = False) -> ImportResult:
    """The same code path in this process (no interpreter start-up), for the cases about content."""
    with Writer(db) as writer:
        return import_files(writer, files, clock=lambda: NOW, force=force)


@pytest.fixture(scope="module")
def server(fake_dataset: Dataset) -> Iterator[FakeServer]:
    fake = start_fake(fake_dataset)
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def files(fake_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exports")
    out = {}
    for layout in ("2026", "older"):
        out[layout] = folder / f"activity-{layout}.csv"
        write_website_csv(fake_dataset, out[layout], FIRST, END, layout=layout)
    return out


@pytest.fixture(scope="module")
def keyed(server: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the account's keys (so export key names can be linked), no generations yet."""
    db = tmp_path_factory.mktemp("keyed") / "orusage.duckdb"
    ingest(db, server)
    return db


@pytest.fixture(scope="module")
def imported(keyed: Path, files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("imported") / "orusage.duckdb"
    shutil.copyfile(keyed, db)
    code, out = import_(db, files["2026"])
    assert code == 0 and out.startswith("import ok: 1 file(s) (2026 layout)"), out
    return db


def copy_of(db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "orusage.duckdb"
    shutil.copyfile(db, target)
    return target


def truth(ds: Dataset, sql: str) -> list[tuple[Any, ...]]:
    return ds.con.execute(sql.format(where="created_at >= ? AND created_at < ?"), [FIRST, END]).fetchall()


TOTALS = """SELECT CAST(created_at AS DATE), model_permaslug, count(*), sum(total_cost), sum(byok_usage_inference),
                   sum(tokens_prompt), sum(tokens_completion), sum(native_tokens_reasoning), sum(native_tokens_cached)
            FROM generations {where} GROUP BY ALL ORDER BY ALL"""
ROWS = """SELECT id, created_at, provider_name, external_user, native_finish_reason, finish_reason, generation_time,
                 cancelled, streamed, api_key_hash FROM generations {where} ORDER BY id"""


# --- good files ---------------------------------------------------------------------------------------------


def test_the_2026_layout_equals_the_fakes_own(imported: Path, fake_dataset: Dataset) -> None:
    assert same_rows(
        query(imported, TOTALS.format(where="")), truth(fake_dataset, TOTALS.format(where="WHERE {where}"))
    )
    assert query(imported, ROWS.format(where="")) == truth(fake_dataset, ROWS.format(where="WHERE {where}"))
    facts = query(
        imported,
        """SELECT count(*) FILTER (WHERE source <> 'export'), count(api_key_disabled), count(variant),
                  count(*) FILTER (WHERE imported_at IS NULL OR fetched_at IS NOT NULL) FROM generations""",
    )
    assert facts == [(0, query(imported, "SELECT count(*) FROM generations")[0][0], facts[0][2], 0)]
    assert facts[0][2] > 0


def test_export_rows_learn_keys_and_apps(imported: Path, fake_dataset: Dataset) -> None:
    # Every key name is unique in the fake, so every row gets its key's hash (compared in ROWS above);
    # app ids need a label learned from the API first: none yet.
    assert query(imported, "SELECT count(*) FROM generations WHERE api_key_hash IS NULL") == [(0,)]
    by_key = query(
        imported, "SELECT api_key_hash, sum(requests) FROM generation_spend_by_key_daily GROUP BY 1 ORDER BY 1"
    )
    assert by_key == truth(
        fake_dataset, "SELECT api_key_hash, count(*) FROM generations WHERE {where} GROUP BY 1 ORDER BY 1"
    )


def test_the_older_layout_gives_the_same_rows(
    keyed: Path, files: dict[str, Path], imported: Path, tmp_path: Path
) -> None:
    db = copy_of(keyed, tmp_path)
    assert [f.layout.name for f in load(db, files["older"]).files] == ["older"]
    assert query(db, "SELECT count(api_key_disabled) FROM generations") == [(0,)]
    without = "SELECT * EXCLUDE (imported_at, api_key_disabled) FROM generations ORDER BY id"
    assert query(db, without) == query(imported, without)


def test_shuffled_and_extra_columns_give_the_same_rows(
    keyed: Path, files: dict[str, Path], imported: Path, tmp_path: Path
) -> None:
    with open(files["2026"], newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    order = list(reversed(range(len(rows[0]))))
    shuffled = tmp_path / "shuffled.csv"
    with open(shuffled, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")  # and Windows line ends
        writer.writerow(["note", *(rows[0][i] for i in order), "cost_total_eur"])
        for row in rows[1:]:
            writer.writerow(["hello, world", *(row[i] for i in order), "not a number"])
    db = copy_of(keyed, tmp_path)
    load(db, shuffled)
    assert query(db, CONTENTS) == query(imported, CONTENTS)


def test_created_at_is_read_as_utc(keyed: Path, tmp_path: Path) -> None:
    header = "generation_id,created_at,cost_total,cost_web_search,cost_cache,cost_file_processing,byok_usage_inference,"
    header += "tokens_prompt,tokens_completion,tokens_reasoning,tokens_cached,model_permaslug,provider_name,variant,"
    header += "cancelled,streamed,user,finish_reason_raw,finish_reason_normalized,generation_time_ms,"
    header += "time_to_first_token_ms,api_key_name,app_name\n"
    rest = ",0.5,0,0,0,0,10,5,0,0,openai/gpt-4o,OpenAI,standard,false,true,,stop,stop,100,50,staging,\n"
    path = tmp_path / "times.csv"
    path.write_text(header + "gen-a,2026-02-06 18:54:30.040" + rest + "gen-b,2026-02-06 18:54:30.040+02:00" + rest)
    db = copy_of(keyed, tmp_path)
    load(db, path)
    assert query(db, "SELECT id, strftime(created_at, '%H:%M:%S.%g') FROM generations ORDER BY id") == [
        ("gen-a", "18:54:30.040"),
        ("gen-b", "16:54:30.040"),
    ]


def test_importing_the_same_file_twice_changes_nothing(imported: Path, files: dict[str, Path], tmp_path: Path) -> None:
    db = copy_of(imported, tmp_path)
    before = query(db, "SELECT * FROM generations ORDER BY id")
    result = load(db, files["2026"], files["2026"], force=True)  # read again, merged: nothing changes
    assert result.new == 0 and result.rows == len(before) and not result.skipped
    assert query(db, "SELECT * FROM generations ORDER BY id") == before


def test_a_file_imported_before_is_skipped_unread(
    imported: Path, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = copy_of(imported, tmp_path)
    before = query(db, "SELECT * FROM generations ORDER BY id")
    code, out = import_(db, files["2026"])
    assert code == 0 and out.startswith("import: nothing new; activity-2026.csv was imported on"), out
    assert f"({len(before)} rows)" in out and "--force" in out, out

    def unread(*_args: object) -> None:
        raise AssertionError("a file imported before was read")

    monkeypatch.setattr(load_module, "check_file", unread)
    result = load(db, files["2026"])
    assert result.files == [] and [s.path for s in result.skipped] == [files["2026"].resolve()]
    assert query(db, "SELECT * FROM generations ORDER BY id") == before
    # --force reads it (and the merge changes nothing); the file is noted under the path given last.
    code, out = import_(db, files["2026"], "--force")
    assert code == 0 and out.startswith("import ok: 1 file(s)"), out
    assert query(db, "SELECT * FROM generations ORDER BY id") == before


def test_a_new_file_beside_one_imported_before_is_imported(
    imported: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    lines = _lines(files["2026"])
    shorter = tmp_path / "one-row-less.csv"
    shorter.write_bytes(b"".join(lines[:-1]))  # another file: its end, size and line count differ
    db = copy_of(imported, tmp_path)
    result = load(db, files["2026"], shorter)
    assert [f.path for f in result.files] == [shorter] and len(result.skipped) == 1
    assert result.rows == len(lines) - 2 and result.new == 0
    assert load(db, shorter).files == [], "and is recognised the next time"


def test_the_fingerprints_blind_spot_is_a_change_in_the_middle(
    keyed: Path, fake_dataset: Dataset, tmp_path: Path
) -> None:
    """What docs/commands.md says of the risk: a file over 2 MiB changed only in between its first and last
    MiB, to a value of the same length, is taken for the one imported; ``--force`` reads it."""
    big = tmp_path / "year.csv"
    write_website_csv(fake_dataset, big, datetime(2025, 11, 1), END)
    assert big.stat().st_size > 4 * EDGE
    db = copy_of(keyed, tmp_path)
    load(db, big)
    data = bytearray(big.read_bytes())
    middle = data.index(b"\n", len(data) // 2) + 1  # the start of a row in the middle
    fields = bytes(data[middle : data.index(b"\n", middle)]).split(b",")
    assert b"".join(fields[:1]).startswith(b"gen-") and fields[7].isdigit()  # generation_id, …, tokens_prompt
    at = middle + sum(len(f) + 1 for f in fields[:7]) + len(fields[7]) - 1  # tokens_prompt's last digit
    data[at : at + 1] = b"1" if data[at : at + 1] != b"1" else b"2"
    changed = tmp_path / "year-changed.csv"
    changed.write_bytes(bytes(data))
    assert fingerprint(changed) == fingerprint(big)
    stored = "SELECT tokens_prompt FROM generations WHERE id = ?"
    was = query(db, stored, [fields[0].decode()])
    assert load(db, changed).files == [], "skipped: the same fingerprint"
    assert query(db, stored, [fields[0].decode()]) == was
    assert [f.path for f in load(db, changed, force=True).files] == [changed]


def test_a_fingerprint_is_size_ends_and_line_count(tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_bytes(b"a,b\n1,2\n" * 1000)
    fp = fingerprint(small)
    assert fp.size_bytes == small.stat().st_size and fp.lines == 2000
    assert fp.head_tail_sha256 == hashlib.sha256(small.read_bytes()).hexdigest(), "a small file is hashed whole"
    big = tmp_path / "big.csv"
    body = b"".join(b"%09d,x\n" % i for i in range(400_000))  # 4.4 MB
    big.write_bytes(body)
    want = hashlib.sha256(body[:EDGE] + body[-EDGE:]).hexdigest()
    assert fingerprint(big) == Fingerprint(len(body), want, 400_000)


def test_an_id_repeated_in_a_file_or_across_files_is_stored_once(
    keyed: Path, files: dict[str, Path], imported: Path, tmp_path: Path
) -> None:
    lines = _lines(files["2026"])
    repeated = tmp_path / "repeated.csv"
    repeated.write_bytes(b"".join([*lines, lines[3], lines[8]]))  # two rows twice
    other = tmp_path / "same-rows-another-name.csv"
    other.write_bytes(b"".join(lines))
    db = copy_of(keyed, tmp_path)
    result = load(db, repeated, other)
    assert result.rows == 2 * (len(lines) - 1) + 2 and result.new == len(lines) - 1
    assert query(db, CONTENTS) == query(imported, CONTENTS)


def test_api_and_export_rows_of_one_generation_become_one(
    server: FakeServer, keyed: Path, files: dict[str, Path], tmp_path: Path, fake_dataset: Dataset
) -> None:
    db = copy_of(keyed, tmp_path)
    ingest(db, server, GenerationOptions(rate=10_000))  # /generation for 2026-11-18 00:00 .. now
    api = dict(query(db, "SELECT id, total_cost FROM generations"))
    # An export that disagrees with the API on one shared field: the API's value must stay.
    lines = files["2026"].read_text(encoding="utf-8").splitlines(keepends=True)
    target = next(i for i, line in enumerate(lines) if line.split(",", 1)[0] in api)
    gen_id, rest = lines[target].split(",", 1)
    created, _cost, tail = rest.split(",", 2)
    lines[target] = f"{gen_id},{created},999.0,{tail}"
    edited = tmp_path / "edited.csv"
    edited.write_text("".join(lines), encoding="utf-8")
    result = load(db, edited)
    assert result.with_api == 684
    sources = dict(query(db, "SELECT source, count(*) FROM generations GROUP BY 1"))
    overlap = sum(1 for (i,) in truth(fake_dataset, "SELECT id FROM generations WHERE {where}") if i in api)
    assert sources == {"api+export": overlap, "api": len(api) - overlap, "export": sources["export"]}
    assert overlap == 684 and query(db, "SELECT count(DISTINCT id) = count(*) FROM generations") == [(True,)]
    row = query(
        db,
        "SELECT source, total_cost, usage, app_name, api_key_name, variant, time_to_first_token_ms, "
        "fetched_at IS NOT NULL FROM generations WHERE id = ?",
        [gen_id],
    )[0]
    fake = fake_dataset.con.execute(
        "SELECT total_cost, usage, app_name, api_key_name, latency FROM generations WHERE id = ?", [gen_id]
    ).fetchone()
    assert fake is not None
    assert row[0] == "api+export" and row[1:3] == pytest.approx((api[gen_id], fake[1]))
    assert api[gen_id] == pytest.approx(fake[0]) and api[gen_id] != pytest.approx(999.0)
    assert row[3:7] == (fake[2], fake[3], row[5], fake[4]) and row[5] and row[7]  # export-only columns filled in
    # Learned from the API: app ids. Export rows now carry them too, so per-app figures agree across sources.
    assert query(
        db, "SELECT count(*) FROM generations WHERE source = 'export' AND app_id IS NULL AND app_name IS NOT NULL"
    ) == [(0,)]


# --- bad files: one line, exit 2, nothing loaded -----------------------------------------------------------


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _foreign(good: Path, bad: Path) -> int:
    bad.write_text("date,model,usage\n2026-11-01,openai/gpt-4o,1.25\n", encoding="utf-8")
    return 1


def _cut_mid_row(good: Path, bad: Path) -> int:
    lines = _lines(good)
    bad.write_bytes(b"".join(lines[:9]) + lines[9][:30])  # line 10 stops inside generation_id
    return 10


def _cut_mid_quote(good: Path, bad: Path) -> int:
    lines = _lines(good)
    line = lines[11]
    bad.write_bytes(b"".join(lines[:11]) + line[: line.rindex(b',"') + 4])  # inside the quoted app name
    return 12


def _row_cut_short(good: Path, bad: Path) -> int:
    lines = _lines(good)
    lines[4] = b",".join(lines[4].split(b",")[:10]) + b"\n"  # a damaged row, the rest of the file intact
    bad.write_bytes(b"".join(lines))
    return 5


def _not_utf8(good: Path, bad: Path) -> int:
    lines = _lines(good)
    lines[6] = lines[6].replace(b',"', b',"\xff\xfe', 1)
    bad.write_bytes(b"".join(lines))
    return 7


def _wrong_type(good: Path, bad: Path) -> int:
    lines = _lines(good)
    gen_id, created, _cost, rest = lines[8].split(b",", 3)
    lines[8] = b",".join([gen_id, created, b"abc", rest])
    bad.write_bytes(b"".join(lines))
    return 9


def _binary(good: Path, bad: Path) -> int:
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    return 1


BAD = {
    "foreign-csv": (_foreign, "not an OpenRouter activity export: the header lacks generation_id"),
    "cut-mid-row": (_cut_mid_row, "ends in the middle of a row"),
    "cut-mid-quote": (_cut_mid_quote, "a quoted value is never closed"),
    "row-cut-short": (_row_cut_short, "10 values where the header has 24"),
    "not-utf8": (_not_utf8, "not UTF-8"),
    "wrong-type": (_wrong_type, "cost_total is 'abc', not a double"),
    "binary": (_binary, "not UTF-8"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_is_refused_whole(case: str, imported: Path, files: dict[str, Path], tmp_path: Path) -> None:
    make, says = BAD[case]
    bad = tmp_path / f"{case}.csv"
    line = make(files["2026"], bad)
    db = copy_of(imported, tmp_path)
    before = query(db, "SELECT * FROM generations ORDER BY id")
    code, out = import_(db, files["2026"], bad)  # a good file first: it must not be loaded either
    assert code == 2, out
    assert len(out.splitlines()) == 1 and "Traceback" not in out, out
    assert f"{bad}: line {line}: " in out and says in out, out
    assert query(db, "SELECT * FROM generations ORDER BY id") == before


def test_a_bad_file_leaves_an_empty_store_empty(keyed: Path, tmp_path: Path, files: dict[str, Path]) -> None:
    db = copy_of(keyed, tmp_path)
    bad = tmp_path / "cut.csv"
    _cut_mid_quote(files["older"], bad)
    code, out = import_(db, files["older"], bad)
    assert code == 2 and "line 12" in out, out
    assert query(db, "SELECT count(*) FROM generations") == [(0,)]


def test_a_killed_import_loads_nothing_and_a_rerun_completes(
    keyed: Path, imported: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    db = copy_of(keyed, tmp_path)
    killed = run_cli(["import", "--db", str(db), str(files["2026"])], {CRASHPOINT: "unit-uncommitted#1"})
    assert killed.returncode == -9, killed.stderr
    assert query(db, "SELECT count(*) FROM generations") == [(0,)]
    if snapshot_path(db).exists():
        duckdb.connect(str(snapshot_path(db)), read_only=True).close()
    code, out = import_(db, files["2026"])
    assert code == 0, out
    assert query(db, CONTENTS) == query(imported, CONTENTS)


def test_status_says_which_old_days_an_export_holds() -> None:
    today = date(2026, 11, 20)
    old = [date(2026, 8, 1), date(2026, 8, 2)]
    held = activity_gaps("activity", old, today, analytics_model=set(), generation_days=old)
    assert [g.reason for g in held] == [
        "left the 30-day window before they were ingested; imported per-generation records hold them"
    ]
    assert "import a website export" in activity_gaps("activity", old, today, set(), old[:1])[0].reason
