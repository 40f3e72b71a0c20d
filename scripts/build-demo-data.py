#!/usr/bin/env python3
"""Builds the demo's coverage dataset, demo/data/request-types.jsonl, from databricks-dolly-15k.

The task: route a user request to one of a fixed set of request types. Each record asks the model to
name the type of one Dolly instruction; the reference response is that instruction's Dolly category.
A fixed label set makes exact match a meaningful, deterministic score, and the task is one a 135M model
learns from a few hundred examples. Only instructions are used (no context passages), so prompts stay
short; the four categories kept are the ones an instruction alone tells apart.

A build-time tool: it reads a local copy of Dolly (default ../shared/data/raw/dolly15k/..., or --dolly)
and writes the committed file. Deterministic: the same input gives the same bytes.

    python3 scripts/build-demo-data.py [--dolly PATH] [--per-label 75] [--out demo/data/request-types.jsonl]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random

LABELS = ["brainstorming", "classification", "creative_writing", "open_qa"]
MAX_CHARS = 160
# One category for the whole task (the label is the response): synthesis reads it to pick its guidance for
# classification tasks ("keep the same kind of label set as the seed").
CATEGORY = "request-type-classification"
SEED = 20240501

QUESTION = "What type of request is the following? Answer with exactly one of: " + ", ".join(LABELS) + ".\n\nRequest: "


def _default_dolly(root: str) -> str:
    """../shared beside the checkout (or beside its parent, for a worktree one level deeper)."""
    rel = os.path.join("shared", "data", "raw", "dolly15k", "databricks-dolly-15k.jsonl")
    candidates = [os.path.join(root, "..", rel), os.path.join(root, "..", "..", rel)]
    return next((c for c in candidates if os.path.isfile(c)), candidates[0])


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dolly", default=_default_dolly(root))
    ap.add_argument("--per-label", type=int, default=75)
    ap.add_argument("--out", default=os.path.join(root, "demo", "data", "request-types.jsonl"))
    args = ap.parse_args()

    by_label: dict[str, list[str]] = {label: [] for label in LABELS}
    seen: set[str] = set()
    with open(args.dolly, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            text = " ".join(r["instruction"].split())
            key = text.lower()
            if r["category"] in by_label and 10 <= len(text) <= MAX_CHARS and key not in seen:
                seen.add(key)
                by_label[r["category"]].append(text)

    rng = random.Random(SEED)
    rows = []
    for label in LABELS:
        pool = sorted(by_label[label])
        for text in rng.sample(pool, args.per_label):
            rid = "rt-" + hashlib.sha256(f"{label}\n{text}".encode()).hexdigest()[:12]
            record = {"id": rid, "category": CATEGORY, "instruction": QUESTION + text, "context": "", "response": label}
            rows.append(record)
    rng.shuffle(rows)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} records ({args.per_label} per label) to {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
