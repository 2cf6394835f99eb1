"""Fixtures of the dashboard's tests (their helpers are in dashboard_support)."""

from dashboard_support import world, world_on

__all__ = ["world", "world_on"]
