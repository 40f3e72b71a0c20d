"""rensa side of bench/dedup.ts: the same word shingles, num_perm and threshold through rensa's RMinHash
and RMinHashLSH (32 bands) as a user would write it: greedy query-then-insert, a test-split index queried
first and the train split indexed before the samples, one thread. Prints nothing; writes one JSON object,
with the samples it dropped.

Usage: python bench/dedup_rensa.py <tokens.jsonl> <out.json> <num_perm> <threshold> <shingle> <bands>
"""

import json
import sys
import time

from rensa import RMinHash, RMinHashLSH


def shingles(text, k):
    w = text.split(" ") if text else []
    if not w:
        return []
    span = min(k, len(w))
    return list({" ".join(w[i : i + span]) for i in range(len(w) - span + 1)})


def minhash(sh, num_perm):
    m = RMinHash(num_perm=num_perm, seed=42)
    m.update(sh)
    return m


def main():
    tokens_file, out_file = sys.argv[1:3]
    num_perm, threshold, k, bands = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    samples, test, refs = [], [], []
    with open(tokens_file, encoding="utf8") as f:
        for line in f:
            r = json.loads(line)
            (test if r["test"] else refs if r.get("ref") else samples).append(r["full"])

    t0 = time.perf_counter()
    c0 = time.process_time()
    test_lsh = RMinHashLSH(threshold=threshold, num_perm=num_perm, num_bands=bands)
    for i, t in enumerate(test):
        test_lsh.insert(i, minhash(shingles(t, k), num_perm))
    lsh = RMinHashLSH(threshold=threshold, num_perm=num_perm, num_bands=bands)
    # the train split: indexed first, never dropped
    for i, t in enumerate(refs):
        lsh.insert(len(samples) + i, minhash(shingles(t, k), num_perm))
    dropped = []
    for i, t in enumerate(samples):
        m = minhash(shingles(t, k), num_perm)
        if test_lsh.query(m) or lsh.query(m):
            dropped.append(i)
            continue
        lsh.insert(i, m)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    json.dump(
        {"seconds": seconds, "cpuSeconds": cpu_seconds, "kept": len(samples) - len(dropped), "dropped": dropped},
        open(out_file, "w"),
    )


if __name__ == "__main__":
    main()
