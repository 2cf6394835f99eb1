"""Dialer adapters, found by name through the `outbound.dialers` entry-point group."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from campaigns.errors import ConfigurationError
from campaigns.ports import Dialer

GROUP = "outbound.dialers"


def available() -> list[str]:
    """Names of every installed dialer adapter."""
    return sorted(ep.name for ep in entry_points(group=GROUP))


def load_dialer(name: str, **options: Any) -> Dialer:
    """Build the adapter registered under `name` with its options."""
    matches = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not matches:
        known = ", ".join(available()) or "none (is the package installed?)"
        raise ConfigurationError(f"unknown dialer adapter {name!r}; installed: {known}")
    factory = matches[0].load()
    dialer: Dialer = factory(**options)
    return dialer
