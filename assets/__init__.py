"""Dagster assets, asset checks and resources: thin wiring around cem_pipeline."""
