"""``reads.sidebar_options``: the sidebar's every read in one statement gives what each read gives alone (the
reads themselves are checked against the tests' own SQL by the dashboard tests), on the demo store and on a
store with nothing in it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from queries import reads
from queries.reads_facts import source_spans
from queries.store import Writer, snapshot_path


def _same_as_each_read(con: duckdb.DuckDBPyConnection) -> None:
    found = reads.sidebar_options(con)
    assert found.as_of == reads.data_as_of(con)
    assert found.bounds == reads.date_bounds(con)
    assert found.catalog == reads.catalog_models(con)
    assert found.providers == reads.provider_options(con)
    assert found.apps == reads.app_options(con)
    assert found.workspaces == reads.workspace_options(con)
    assert found.spans == source_spans(con)
    models = reads.model_options(con)
    assert [tuple(m.values()) for m in found.models] == list(models.itertuples(index=False, name=None))
    keys = reads.key_options(con).astype(object).where(lambda f: f.notna(), None)
    got = pd.DataFrame(list(found.keys), columns=list(keys.columns)).astype(object).where(lambda f: f.notna(), None)
    assert got.to_dict("records") == keys.to_dict("records")


def test_one_statement_gives_what_each_read_gives(demo_db: Path) -> None:
    con = duckdb.connect(str(snapshot_path(demo_db)), read_only=True)
    try:
        found = reads.sidebar_options(con)
        assert found.models and found.keys and found.providers and found.apps and found.spans
        _same_as_each_read(con)
    finally:
        con.close()


def test_an_empty_store_gives_empty_options(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Writer(db):
        pass
    con = duckdb.connect(str(snapshot_path(db)), read_only=True)
    try:
        found = reads.sidebar_options(con)
        assert found.as_of.finished_at is None and found.bounds.first is None
        assert not (found.models or found.keys or found.catalog or found.providers or found.apps or found.spans)
        _same_as_each_read(con)
    finally:
        con.close()
