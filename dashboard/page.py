"""Runs one page with the shared empty state and one-line store errors (used by ``dashboard/nav/*``)."""

from __future__ import annotations

from collections.abc import Callable

from core.errors import OrusageError
from dashboard import ui
from dashboard.context import PageContext, current_run
from queries.reads import NoSnapshotError


def show(render: Callable[[PageContext], None]) -> None:
    state = current_run()
    if state.error is not None:
        ui.store_error(state.error)
    elif state.ctx is None:
        ui.empty_state(state.db)
    else:
        try:
            render(state.ctx)
        except NoSnapshotError:
            ui.empty_state(state.db)
        except OrusageError as exc:
            ui.store_error(exc)
