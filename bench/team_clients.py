"""``python -m bench.team_clients URL OUT.json [--sessions 20] [--rounds 2] [--password-env NAME]``: a team on one
dashboard, as Streamlit's own browser client speaks to it, without the browsers.

Each session opens the app's WebSocket (``/_stcore/stream``, loopback only), as a browser tab does, and asks for
page runs with ``BackMsg.rerun_script`` (the page's URL path and a query string, as a link carries them); a page
run ends when the server sends ``script_finished`` (a rerun the script asked for, such as the password gate's,
is waited through). The time from asking to that message is the page time. A page run is an error if the server
sends an exception, an error box, "page not found", or no end within the time limit. With a password, each
session first fills the gate's form (its widget ids read from the form the server sent) and submits it.

All sessions start together and click through every page ``--rounds`` times, each starting at another page and
with another filter range, so they do not all ask the same question at once, looking at each page for ``--think``
seconds (1 s) before the next click, as a person does (the page time does not include it). The clients run in this one
process (asyncio); its CPU time is written out with the page times, so the clients' own cost is known.
(``websockets`` and Streamlit's protobuf messages come with Streamlit itself.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.dashboard import pages as app_pages

PAGE_TIMEOUT_S = 60.0
RANGES = ("30d", "7d", "90d", "month", "year")


@dataclass
class PageRun:
    session: int
    page: str
    seconds: float
    error: str | None


class Session:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def run(self, page: str, query: str, widgets: list[Any] | None = None) -> tuple[float, str | None, list[Any]]:
        """Ask for one page run; (seconds, error or None, the elements it drew)."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = query
        state.page_name = page
        if widgets:
            state.widget_states.widgets.extend(widgets)
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        error: str | None = None
        drawn: list[Any] = []
        deadline = started + PAGE_TIMEOUT_S
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return time.perf_counter() - started, "no end within the time limit", drawn
            try:
                data = await asyncio.wait_for(self.ws.recv(), left)
            except TimeoutError:
                return time.perf_counter() - started, "no end within the time limit", drawn
            fwd = ForwardMsg()
            fwd.ParseFromString(data)
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                drawn.append(element)
                shown = element.WhichOneof("type")
                if shown == "exception" and error is None:
                    error = f"exception: {element.exception.message[:200]}"
                elif shown == "alert" and element.alert.format == element.alert.ERROR and error is None:
                    error = f"error box: {element.alert.body[:200]}"
            elif kind == "page_not_found" and error is None:
                error = f"page not found: {page}"
            elif kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(fwd.script_finished)
                if status == "FINISHED_EARLY_FOR_RERUN":
                    drawn = []
                    continue  # the script asked for a rerun (st.rerun, st.switch_page): it follows at once
                if status != "FINISHED_SUCCESSFULLY" and error is None:
                    error = status
                return time.perf_counter() - started, error, drawn


def _gate_widgets(drawn: list[Any], password: str) -> list[Any]:
    """The gate form's password field filled in and its submit button pressed, as widget states."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    field = next(e.text_input for e in drawn if e.WhichOneof("type") == "text_input")
    button = next(e.button for e in drawn if e.WhichOneof("type") == "button" and e.button.is_form_submitter)
    typed, pressed = WidgetState(), WidgetState()
    typed.id, typed.string_value = field.id, password
    pressed.id, pressed.trigger_value = button.id, True
    return [typed, pressed]


async def session(
    i: int,
    url: str,
    urls: list[str],
    rounds: int,
    think: float,
    password: str | None,
    start: asyncio.Event,
    out: list[PageRun],
) -> None:
    import websockets

    host = urlparse(url).netloc
    async with websockets.connect(
        f"ws://{host}/_stcore/stream", subprotocols=["streamlit"], max_size=None, open_timeout=30
    ) as ws:
        s = Session(ws)
        query = f"range={RANGES[i % len(RANGES)]}"
        await start.wait()
        if password is not None:
            seconds, error, drawn = await s.run("", query)
            if error is None:
                seconds, error, drawn = await s.run("", query, _gate_widgets(drawn, password))
                if error is None and not any(e.WhichOneof("type") == "metric" for e in drawn):
                    error = "the password did not open the dashboard"
            out.append(PageRun(i, "(password gate)", seconds, error))
        order = urls[i % len(urls) :] + urls[: i % len(urls)]
        for _ in range(rounds):
            for page in order:
                # The default page is the bare URL, as a browser asks for it.
                seconds, error, _ = await s.run("" if page == urls[0] else page, query)
                out.append(PageRun(i, page, seconds, error))
                await asyncio.sleep(think)


async def main_async(url: str, sessions: int, rounds: int, think: float, password: str | None) -> list[PageRun]:
    urls = [u for u, _file in app_pages()]
    start = asyncio.Event()
    out: list[PageRun] = []
    tasks = [asyncio.create_task(session(i, url, urls, rounds, think, password, start, out)) for i in range(sessions)]
    await asyncio.sleep(0.5)  # every session connected
    start.set()
    for task, result in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True), strict=True):
        if isinstance(result, BaseException):
            out.append(PageRun(tasks.index(task), "(session)", 0.0, f"{type(result).__name__}: {result}"[:200]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--think", type=float, default=1.0, help="seconds a person looks at a page before the next")
    parser.add_argument("--password-env", default=None, help="the environment variable holding the password")
    args = parser.parse_args()
    password = os.environ[args.password_env] if args.password_env else None
    cpu, wall = time.process_time(), time.perf_counter()
    runs = asyncio.run(main_async(args.url, args.sessions, args.rounds, args.think, password))
    args.out.write_text(
        json.dumps(
            {
                "runs": [r.__dict__ for r in runs],
                "client_cpu_seconds": time.process_time() - cpu,
                "wall_seconds": time.perf_counter() - wall,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
