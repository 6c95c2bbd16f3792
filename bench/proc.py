"""Child processes: each benchmark that allocates runs in its own, so its peak RSS is its own (``VmHWM``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
QUIET_STREAMLIT = {"STREAMLIT_LOGGER_LEVEL": "error", "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS": "false"}


@dataclass(frozen=True)
class Child:
    returncode: int
    seconds: float
    peak_rss_mb: float  # VmHWM of the child's own process image


def run(module: str, *args: str, env: Mapping[str, str] | None = None, stdout: IO[str] | None = None) -> Child:
    """``python -m module args`` in the repo, through ``bench.hwm``, which reports the child's own peak RSS."""
    full_env = {**os.environ, **QUIET_STREAMLIT, **(env or {})}
    with tempfile.TemporaryDirectory(prefix="bench-hwm-") as tmp:
        report = Path(tmp) / "hwm.json"
        started = time.perf_counter()
        returncode = subprocess.call(
            [sys.executable, "-m", "bench.hwm", str(report), module, *args], cwd=REPO, env=full_env, stdout=stdout
        )
        seconds = time.perf_counter() - started
        peak = float(json.loads(report.read_text())["vm_hwm_mb"]) if report.exists() else float("nan")
    return Child(returncode, seconds, peak)


class FakeProcess:
    """The project's fake OpenRouter in its own process (so the client's timing is not the server's GIL)."""

    def __init__(
        self,
        *,
        latency_s: float,
        ids: int = 0,
        now: str | None = None,
        large: float | None = None,
        analytics_limit: int | None = None,
        time_scale: float = 1.0,
    ) -> None:
        args = [sys.executable, "-m", "bench.fake_proc", "--latency", str(latency_s), "--ids", str(ids)]
        if now:
            args += ["--now", now]
        if large:
            args += ["--large", str(large)]
        if analytics_limit:
            args += ["--analytics-limit", str(analytics_limit)]
        args += ["--time-scale", str(time_scale)]
        self.stats: dict[str, Any] = {}
        self._proc = subprocess.Popen(args, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake OpenRouter did not start")
        self.info: dict[str, Any] = json.loads(line)

    @property
    def base_url(self) -> str:
        return str(self.info["base_url"])

    @property
    def ids(self) -> list[str]:
        return list(self.info.get("ids", []))

    def stop(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        if self._proc.stdout is not None:
            last = self._proc.stdout.readline()  # what it answered, written when its input closed
            self.stats = json.loads(last) if last.strip() else {}
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> FakeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
