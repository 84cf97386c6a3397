"""The simulator's ground truth, written as Parquet for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

from cem_pipeline.simulator.outcomes import planted_effects, truth_outcomes
from cem_pipeline.simulator.world import World


def write_truth(world: World, path: str | Path, now: int) -> list[str]:
    """Write records.parquet (person and label per record), metrics.parquet (true NPS/CSAT/CES per
    day x channel) planted_pii.parquet, drivers.parquet (the planted key drivers), drops.parquet
    (the planted metric drops), surveys.parquet (each response's experience and segments), outcomes.parquet (the
    planted experience -> outcome effects, simulator/outcomes.py) and customer_outcomes.parquet (per horizon and
    customer of the outcome cohort at ``now``: index answer, strata, realized orders and the true repurchase
    probability and expected spend) into directory ``path``; return the files written."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "records.parquet": world.truth_records(now),
        "metrics.parquet": world.truth_metrics(now),
        "planted_pii.parquet": world.planted_pii(),
        "drivers.parquet": world.truth_drivers(),
        "drops.parquet": world.truth_drops(),
        "surveys.parquet": world.truth_surveys(now),
        "outcomes.parquet": planted_effects(),
        "customer_outcomes.parquet": truth_outcomes(world, now),
    }
    for name, frame in files.items():
        frame.to_parquet(out / name, index=False)
    return [str(out / name) for name in files]
