"""A process-local hook so the CLI can draw progress while a flow runs in the same process."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Receive (event, data) for every emitted event; returns an unsubscribe function."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def emit(event: str, **data: Any) -> None:
    """Tell every listener; a failing listener never breaks the flow."""
    for listener in list(_listeners):
        # A broken progress display must never stop a campaign.
        with contextlib.suppress(Exception):
            listener(event, data)
