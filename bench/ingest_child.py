"""One ``orusage ingest`` (``orusage.jobs.ingest_once``, what the command runs) with the clock pinned, so a
store built for ``bench.generate.ANCHOR`` gets an incremental run. Settings come from the environment
(``ORUSAGE_DB``, ``OPENROUTER_BASE_URL``, ``OPENROUTER_MANAGEMENT_KEY``, …), as for the command."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

from bench.generate import ANCHOR
from core.settings import load_settings
from orusage.jobs import ingest_once


def main(minutes_after_anchor: int) -> None:
    now = ANCHOR + timedelta(minutes=minutes_after_anchor)

    def clock() -> datetime:
        return now

    print(ingest_once(load_settings(), quiet=True, clock=clock), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
