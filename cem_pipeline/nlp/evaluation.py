"""Evaluation of a sentiment model's predictions (what ``eval.json`` holds).

Per dataset, per language and overall on the test split: n, accuracy, macro-F1 and the confusion matrix
(rows = true, columns = predicted, order negative, neutral, positive). On binary sets (no neutral
truth) the prediction is the larger of P(negative) and P(positive); on the 3-class sets it is the argmax
of the three (:func:`decide`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cem_pipeline.nlp.data import DATASET_BY_NAME, LABEL_INDEX, LABELS


def _f1s(cm: np.ndarray, present: list[int]) -> list[float]:
    out = []
    for k in present:
        tp = cm[k, k]
        prec = tp / cm[:, k].sum() if cm[:, k].sum() else 0.0
        rec = tp / cm[k, :].sum() if cm[k, :].sum() else 0.0
        out.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return out


def metrics_for(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """accuracy, macro-F1 over the classes present in the truth, confusion matrix (neg, neu, pos)."""
    cm = np.zeros((3, 3), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[int(t), int(p)] += 1
    present = [k for k in range(3) if cm[k, :].sum()]
    n = int(cm.sum())
    return {
        "n": n,
        "accuracy": round(float(np.trace(cm) / n), 4) if n else None,
        "macro_f1": round(float(np.mean(_f1s(cm, present))), 4) if present else None,
        "confusion": cm.tolist(),
    }


def decide(df: pd.DataFrame, probs: np.ndarray) -> np.ndarray:
    """Predicted class per row: binary sets choose between negative and positive only."""
    binary = df["dataset"].map(lambda d: DATASET_BY_NAME[d].kind == "binary").to_numpy()
    three = probs.argmax(1)
    two = np.where(probs[:, 2] >= probs[:, 0], 2, 0)
    return np.where(binary, two, three)


def evaluate_predictions(df: pd.DataFrame, probs: np.ndarray) -> dict:
    y = df["label"].map(LABEL_INDEX).to_numpy()
    pred = decide(df, probs)
    out = {"labels": list(LABELS), "overall": metrics_for(y, pred), "by_language": {}, "by_dataset": {}}
    for lang, idx in df.groupby("language").indices.items():
        out["by_language"][lang] = metrics_for(y[idx], pred[idx])
    for name, idx in df.groupby("dataset").indices.items():
        m = metrics_for(y[idx], pred[idx])
        m["licence"] = DATASET_BY_NAME[name].licence
        m["trained_on"] = None  # filled by the caller
        out["by_dataset"][name] = m
    return out
