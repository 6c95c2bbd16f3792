"""``python -m bench.hwm OUT.json MODULE ARGS…``: run ``python -m MODULE ARGS…`` in this process, then write
its peak RSS (``VmHWM`` of /proc/self/status, which ``exec`` resets) to OUT.json.

``wait4``'s ``ru_maxrss`` is no use here: Linux carries the parent's high-water mark into a forked child, so
a child of a large parent reports at least the parent's size."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    out, module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        Path(out).write_text(json.dumps({"vm_hwm_mb": vm_hwm_mb()}))
    sys.exit(code)


if __name__ == "__main__":
    main()
