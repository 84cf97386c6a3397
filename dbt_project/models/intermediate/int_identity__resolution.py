"""Identity resolution: every staged record -> a run-local identity component (or none).

The rules and over-merge guards live in cem_pipeline.identity.resolve (one place, also used by
bench/identity.py); this model only feeds it the evidence and the configured thresholds."""

from cem_pipeline.identity import resolve


def model(dbt, session):
    dbt.config(materialized="table")
    evidence = dbt.ref("int_identity__evidence").df()
    max_anchors = int(dbt.config.get("identity_max_anchors_per_token") or 6)
    weak = str(dbt.config.get("identity_weak_evidence")).lower() not in ("false", "0", "none")
    out = resolve(evidence, max_anchors_per_token=max_anchors, weak_evidence=weak)
    out["component"] = out["component"].astype("float64")
    return out
