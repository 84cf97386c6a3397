"""Data-quality rules: what makes a landed record unfit for staging, and why."""

from cem_pipeline.quality.rules import Violation, validate_record

__all__ = ["Violation", "validate_record"]
