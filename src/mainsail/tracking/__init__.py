"""Experiment tracking: runs, params, metric series, tags, artifacts, environment, seeds."""

from mainsail.tracking._run import ActiveRun, active_run

__all__ = ["ActiveRun", "active_run"]
