"""Named points where the fault tests kill the process, to prove a crash anywhere loses nothing.

``ORUSAGE_CRASHPOINT=name`` (or ``name#n`` for its n-th pass) makes the process SIGKILL itself there:
no cleanup, no finally blocks, exactly like a power cut or the OOM killer. Unset (always, in normal
use), a crashpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

from core import settings

ENV = settings.CRASHPOINT_ENV

# Every crashpoint the code has, for the tests to iterate over (and to keep names honest).
POINTS = (
    "writer-opened",  # lock taken, database open, before any unit
    "unit-uncommitted",  # inside a unit's transaction, its rows written, COMMIT not yet run
    "unit-committed",  # right after a unit's COMMIT
    "snapshot-copied",  # snapshot copied to its temporary name, not yet renamed over the old one
    "import-file-loaded",  # `orusage import`: a file's rows inserted and merged, the import not committed
)

_passes: Counter[str] = Counter()


def crashpoint(name: str) -> None:
    wanted = settings.crashpoint()
    if not wanted:
        return
    target, _, nth = wanted.partition("#")
    if target != name:
        return
    _passes[name] += 1
    if _passes[name] == int(nth or "1"):
        os.kill(os.getpid(), signal.SIGKILL)
