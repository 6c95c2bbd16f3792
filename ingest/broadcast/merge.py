"""The spool into the store: deliveries in arrival order, in short transactions, each generation once.

Run by ``orusage receive`` on a timer (its own short writer session, ``queries.store.MERGE``) and by
``orusage ingest`` first thing. A transaction holds up to ``batch_size`` records of one UTC day of receipt
(so the day's counts are exact); its spool files are deleted only after it committed. A crash in between
leaves files that a later merge reads again, which changes nothing: a generation Broadcast already
delivered is left as it is (``queries.broadcast.merge_generations``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.broadcast.spool import Spool, Spooled
from queries import broadcast as qb
from queries import generations as gq
from queries.store import Writer

log = logging.getLogger("orusage.receive")

BATCH_SIZE = 500  # records per transaction
MAX_FILES = 100_000  # deliveries per merge; the rest wait for the next one


@dataclass
class MergeResult:
    deliveries: int = 0
    records: int = 0
    new: int = 0
    filled: int = 0  # /generation or CSV records Broadcast reached
    duplicates: int = 0
    without_id: int = 0
    unreadable: int = 0
    batches: int = 0

    @property
    def changed(self) -> bool:
        return self.deliveries > 0

    def summary(self) -> str:
        if not self.deliveries:
            return "no delivery to merge"
        again = f", {self.duplicates} delivered again (ignored)" if self.duplicates else ""
        bad = f", {self.unreadable} unreadable spool file(s) set aside" if self.unreadable else ""
        return (
            f"{self.deliveries} deliveries merged: {self.new} new generations, {self.filled} added to stored ones"
            f"{again}; {self.without_id} child spans without a generation id ignored{bad}"
        )


def _chunks(deliveries: Iterator[Spooled], batch_size: int) -> Iterator[list[Spooled]]:
    """Consecutive deliveries of one UTC day of receipt, up to ``batch_size`` records (at least one delivery)."""
    chunk: list[Spooled] = []
    records = 0
    for delivery in deliveries:
        day_changes = chunk and delivery.received_at.date() != chunk[0].received_at.date()
        if chunk and (day_changes or records + len(delivery.records) > batch_size):
            yield chunk
            chunk, records = [], 0
        chunk.append(delivery)
        records += len(delivery.records)
    if chunk:
        yield chunk


def _rows(
    chunk: Sequence[Spooled], permaslugs: dict[str, str]
) -> tuple[list[dict[str, Any]], list[tuple[int, str, str]]]:
    rows: list[dict[str, Any]] = []
    tags: list[tuple[int, str, str]] = []
    for delivery in chunk:
        for record in delivery.records:
            row: dict[str, Any] = {
                **record.fields,
                "id": record.id,
                "created_at": record.created_at,
                "received_at": delivery.received_at,
            }
            model = row.get("model")
            if row.get("model_permaslug") is None and isinstance(model, str) and model in permaslugs:
                row["model_permaslug"] = permaslugs[model]  # as for /generation: the catalogue's permaslug
            tags += [(len(rows), key, value) for key, value in record.tags]
            rows.append(row)
    return rows, tags


def merge_spool(
    writer: Writer, spool: Spool, *, batch_size: int = BATCH_SIZE, max_files: int = MAX_FILES
) -> MergeResult:
    """Store what the spool holds (at most ``max_files`` deliveries, oldest first)."""
    result = MergeResult()
    spool.clean_stale()
    paths = spool.pending(max_files)
    if not paths:
        return result
    permaslugs = gq.model_permaslugs(writer.con)

    def readable() -> Iterator[Spooled]:
        for path in paths:
            delivery = spool.read(path)
            if delivery is None:
                result.unreadable += 1
            else:
                yield delivery

    for chunk in _chunks(readable(), batch_size):
        rows, tags = _rows(chunk, permaslugs)
        first: datetime = min(d.received_at for d in chunk)
        last: datetime = max(d.received_at for d in chunk)
        with writer.transaction() as con:
            merged = qb.merge_generations(con, rows, tags)
            qb.add_receipts(
                con,
                [
                    qb.Receipt(
                        day=first.date(),
                        deliveries=len(chunk),
                        spans=sum(d.spans for d in chunk),
                        without_id=sum(d.without_id for d in chunk),
                        without_time=sum(d.without_time for d in chunk),
                        new_generations=merged.new + merged.filled,
                        duplicates=merged.duplicates,
                        tags_dropped=sum(d.tags_dropped for d in chunk),
                        last_received_at=last,
                    )
                ],
            )
            qb.link_key_names(con, first)
        spool.remove([d.path for d in chunk])
        result.batches += 1
        result.deliveries += len(chunk)
        result.records += len(rows)
        result.new += merged.new
        result.filled += merged.filled
        result.duplicates += merged.duplicates
        result.without_id += sum(d.without_id for d in chunk)
    if result.changed:
        log.info("broadcast: %s", result.summary())
    return result
