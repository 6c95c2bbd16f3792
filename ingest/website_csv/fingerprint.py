"""A file's fingerprint, to recognise a website CSV imported before without reading it: its size, a SHA-256
of its first and last MiB, and its line count.

Two different files with the same fingerprint would need the same size, the same first and last MiB and
the same number of lines, and differ only in between. The hash itself does not collide in practice; the
risk is a file changed only in its middle: an export of the same days made again after OpenRouter changed
some value of a row far from either end into one of exactly the same length. Such a file would be taken
for the one imported, and skipped: `orusage import --force` reads it anyway.

Counting lines reads the whole file, but only to count bytes (about a second per 2 GB from the page cache),
which is what keeps the fingerprint from missing a file that merely grew or shrank inside.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

EDGE = 1 << 20  # the bytes hashed at each end
CHUNK = 8 << 20


@dataclass(frozen=True)
class Fingerprint:
    size_bytes: int
    head_tail_sha256: str
    lines: int


def fingerprint(path: Path) -> Fingerprint:
    """The file's fingerprint (raises OSError when it cannot be read)."""
    digest = hashlib.sha256()
    lines = 0
    size = 0
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb") as fh:
        while read := fh.readinto(buffer):
            chunk = view[:read]
            if size < EDGE:
                digest.update(chunk[: EDGE - size])
            lines += buffer.count(b"\n", 0, read)
            size += read
        # The last MiB (or what of it the head did not cover already).
        tail_from = max(EDGE, size - EDGE)
        if size > tail_from:
            fh.seek(tail_from)
            digest.update(fh.read(size - tail_from))
    return Fingerprint(size, digest.hexdigest(), lines)
