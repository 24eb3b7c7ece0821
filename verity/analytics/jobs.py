"""Background jobs of the analytics app, registered by AnalyticsConfig.ready (this module
stays light: pandas is imported only when a job runs)."""

from __future__ import annotations

from verity.core import jobs


@jobs.job("analytics.snapshot")
def write_snapshot() -> None:
    """Queued by frames.bump_data_version: the opportunities snapshot for the new data."""
    from verity.analytics import frames

    frames.write_snapshot()
