"""Key drivers of likelihood-to-recommend: Johnson's relative weights with bootstrap intervals.

Input: ``intermediate.int_key_driver_cells`` — NPS responses counted per channel x journey stage x score x
set of drivers the comment mentions (``delivery_negative|price_positive``). A driver is a topic mentioned
with a polarity; its indicator is 1 for a response that mentions it.

Per segment (overall, each channel, each journey stage) and driver:

- ``importance``: Johnson's (2000) relative weight — the share of the variance of the 0-10 answer that the
  driver accounts for, correlated drivers included; the weights of a segment sum to its model R². Raw
  regression coefficients would split shared variance arbitrarily between correlated drivers; relative
  weights equal the Shapley decomposition of R² for two drivers and are within rounding of it beyond.
  ``importance_share`` = importance / R².
- ``effect_points``: the multiple-regression coefficient: how many points the answer moves, on average, when
  a response mentions the driver (all other drivers held fixed). Its sign is the ``direction``.
- 95% intervals of both by the percentile bootstrap: responses are resampled with replacement, which on
  counted cells is a multinomial draw of the counts (the same distribution, at any volume in O(cells)).
- ``share_affected``: share of the segment's responses that mention the driver; ``mean_score_affected`` /
  ``mean_score_unaffected``: the mean 0-10 answer of those responses and of the others (the "performance"
  axis of the priority quadrant).
- ``fix_first_rank``: among drivers that lower the score (effect interval below 0), ranked by
  ``importance_share x share_affected`` — how much of the explained variance a fix addresses, times how
  many customers it reaches.

Pure numpy; no Dagster, no engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cem_pipeline import schema

SEGMENT_KINDS = ("overall", "channel", "journey_stage")
KEY_DRIVER_COLUMNS = schema.column_names(schema.KEY_DRIVERS_COLUMNS)


@dataclass(frozen=True)
class DriverSettings:
    bootstrap: int = 400  # resamples per segment
    min_responses: int = 200  # a segment with fewer NPS responses is not analysed
    min_mentions: int = 20  # a driver mentioned by fewer responses in a segment is left out of its model
    seed: int = 7
    level: float = 0.95


def relative_weights(cov: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Johnson's relative weights from the covariance matrix of ``[x_1 .. x_p, y]``.

    Returns (weights, R², regression coefficients in y's units per unit of x). The weights sum to R²."""
    cov = np.asarray(cov, dtype=float)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    rxx, rxy = corr[:-1, :-1], corr[:-1, -1]
    evals, evecs = np.linalg.eigh(rxx)
    evals = np.clip(evals, 1e-12, None)
    # Lambda: loadings of x on the orthogonal Z closest to x (Z = X R^-1/2); beta: y regressed on Z.
    lam = evecs @ np.diag(np.sqrt(evals)) @ evecs.T
    beta = np.linalg.solve(lam, rxy)
    weights = (lam ** 2) @ (beta ** 2)
    std_coef = np.linalg.solve(rxx, rxy)
    r2 = float(rxy @ std_coef)
    return weights, r2, std_coef * sd[-1] / sd[:-1]


def weighted_cov(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Covariance matrix of [x, y] over rows weighted by counts ``w``."""
    data = np.column_stack([x, y])
    total = w.sum()
    mean = (w[:, None] * data).sum(axis=0) / total
    centered = data - mean
    return (w[:, None] * centered).T @ centered / (total - 1)


def _indicators(drivers: pd.Series) -> tuple[np.ndarray, list[str]]:
    sets = [set(filter(None, str(d).split("|"))) for d in drivers]
    names = sorted(set().union(*sets)) if sets else []
    x = np.array([[1.0 if n in s else 0.0 for n in names] for s in sets]).reshape(len(sets), len(names))
    return x, names


def _analyse(cells: pd.DataFrame, settings: DriverSettings, rng: np.random.Generator) -> list[dict]:
    counts = cells["responses"].to_numpy(dtype=float)
    scores = cells["score"].to_numpy(dtype=float)
    x, names = _indicators(cells["drivers"])
    mentions = (x * counts[:, None]).sum(axis=0)
    keep = mentions >= settings.min_mentions
    x, names, mentions = x[:, keep], [n for n, k in zip(names, keep) if k], mentions[keep]
    total = counts.sum()
    if not names or np.var(scores) == 0:
        return []
    weights, r2, effects = relative_weights(weighted_cov(x, scores, counts))
    boot_w, boot_e = [], []
    for _ in range(settings.bootstrap):
        resampled = rng.multinomial(int(total), counts / total).astype(float)
        present = resampled > 0
        bx, by, bw = x[present], scores[present], resampled[present]
        if np.any((bx * bw[:, None]).sum(axis=0) == 0) or np.var(by) == 0:
            continue  # a driver absent from this resample: no estimate (rare at min_mentions)
        w_b, _, e_b = relative_weights(weighted_cov(bx, by, bw))
        boot_w.append(w_b)
        boot_e.append(e_b)
    tail = (1 - settings.level) / 2 * 100
    if not boot_w:  # every resample lost a driver: no interval, and no direction claimed
        boot_w = boot_e = [np.full(len(names), np.nan)]
    lo_w, hi_w = np.percentile(boot_w, [tail, 100 - tail], axis=0)
    lo_e, hi_e = np.percentile(boot_e, [tail, 100 - tail], axis=0)
    rows = []
    for j, name in enumerate(names):
        affected = x[:, j] == 1
        topic, _, polarity = name.rpartition("_")
        direction = "lowers" if hi_e[j] < 0 else "raises" if lo_e[j] > 0 else "no clear effect"
        rows.append({
            "driver": name, "topic": topic, "polarity": polarity, "responses": int(total),
            "mentions": int(mentions[j]), "share_affected": float(mentions[j] / total),
            "importance": float(weights[j]), "importance_ci_low": float(lo_w[j]),
            "importance_ci_high": float(hi_w[j]), "importance_share": float(weights[j] / r2) if r2 > 0 else None,
            "effect_points": float(effects[j]), "effect_ci_low": float(lo_e[j]), "effect_ci_high": float(hi_e[j]),
            "direction": direction, "model_r2": r2, "bootstrap_resamples": len(boot_w),
            "mean_score_affected": float(np.average(scores[affected], weights=counts[affected])),
            "mean_score_unaffected": float(np.average(scores[~affected], weights=counts[~affected]))
            if (~affected).any() else None,
        })
    return rows


def key_drivers(cells: pd.DataFrame, settings: DriverSettings | None = None) -> pd.DataFrame:
    """One row per segment x driver (see the module doc) from the counted cells."""
    settings = settings or DriverSettings()
    rng = np.random.default_rng(settings.seed)
    # A canonical order, so the resamples (and so the intervals) do not depend on the order the engine read.
    cells = cells.sort_values(["channel", "journey_stage", "score", "drivers"], ignore_index=True)
    as_of = cells["as_of_day"].max() if len(cells) else None
    rows = []
    for kind in SEGMENT_KINDS:
        groups = [("all", cells)] if kind == "overall" else cells.groupby(kind, sort=True)
        for value, group in groups:
            if group["responses"].sum() < settings.min_responses:
                continue
            for row in _analyse(group, settings, rng):
                rows.append({"as_of_day": as_of, "segment_kind": kind, "segment_value": str(value), **row})
    ranked = ("fix_first_score", "fix_first_rank")  # added below, per segment
    out = pd.DataFrame(rows, columns=[c for c in KEY_DRIVER_COLUMNS if c not in ranked])
    if out.empty:
        return out.assign(fix_first_score=pd.Series(dtype=float), fix_first_rank=pd.Series(dtype="Int64"))
    lowers = out["direction"] == "lowers"
    out["fix_first_score"] = (out["importance_share"] * out["share_affected"]).where(lowers)
    out["fix_first_rank"] = (out.groupby(["segment_kind", "segment_value"])["fix_first_score"]
                             .rank(ascending=False, method="first").astype("Int64"))
    return out.sort_values(["segment_kind", "segment_value", "importance"], ascending=[True, True, False],
                           ignore_index=True)

