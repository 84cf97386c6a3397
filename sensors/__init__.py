"""Jobs, schedules and sensors (Dagster wiring only; definitions.py collects them):

- ``jobs.py``: ``hourly_cx_refresh``, ``daily_cx_rebuild``, ``backfill_cx_marts``;
- ``schedules.py``: the hourly and daily schedules in ``CEM_TIMEZONE``;
- ``alerts.py``: ``deliver_cx_alerts``, the closed-loop webhook sensor;
- ``failures.py``: ``report_failed_runs``.
"""
