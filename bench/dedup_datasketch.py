"""datasketch side of bench/dedup.ts: the same word shingles, num_perm and threshold, run through
datasketch's MinHash and MinHashLSH as a user would (bulk MinHash, greedy query-then-insert dedup,
query against an index of the test split, the train split indexed first). Writes one JSON object,
with the samples it dropped.

Usage: python bench/dedup_datasketch.py <tokens.jsonl> <out.json> <num_perm> <threshold> <shingle>
tokens.jsonl: {"full": "normalized words ...", "test": bool, "ref": bool} per line: samples, the test
split, the train split (indexed before the samples, never dropped).
"""

import json
import sys
import time

from datasketch import MinHash, MinHashLSH


def shingles(text, k):
    w = text.split(" ") if text else []
    if not w:
        return []
    span = min(k, len(w))
    return list({" ".join(w[i : i + span]).encode("utf8") for i in range(len(w) - span + 1)})


def main():
    tokens_file, out_file = sys.argv[1:3]
    num_perm, threshold, k = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    samples, test, refs = [], [], []
    with open(tokens_file, encoding="utf8") as f:
        for line in f:
            r = json.loads(line)
            (test if r["test"] else refs if r.get("ref") else samples).append(r["full"])

    t0 = time.perf_counter()
    c0 = time.process_time()
    test_sh = [shingles(t, k) for t in test]
    sample_sh = [shingles(t, k) for t in samples]
    test_mh = MinHash.bulk(test_sh, num_perm=num_perm)
    sample_mh = MinHash.bulk(sample_sh, num_perm=num_perm)
    ref_mh = MinHash.bulk([shingles(t, k) for t in refs], num_perm=num_perm)
    test_lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    with test_lsh.insertion_session() as s:
        for i, m in enumerate(test_mh):
            s.insert(i, m)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    # the train split: indexed first, never dropped
    with lsh.insertion_session() as s:
        for i, m in enumerate(ref_mh):
            s.insert(("ref", i), m)
    dropped = []
    for i, m in enumerate(sample_mh):
        if test_lsh.query(m) or lsh.query(m):
            dropped.append(i)
            continue
        lsh.insert(i, m)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    json.dump(
        {
            "seconds": seconds,
            "cpuSeconds": cpu_seconds,
            "kept": len(samples) - len(dropped),
            "bands": lsh.b,
            "rows": lsh.r,
            "dropped": dropped,
        },
        open(out_file, "w"),
    )


if __name__ == "__main__":
    main()
