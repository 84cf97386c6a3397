"""Support code for the tests (no tests here): paths, the end-to-end helpers, the shared pipeline run,
identity helpers, tiny ML checkpoints."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"  # the labelled corpus beside the repo (absent on a user's clone)
