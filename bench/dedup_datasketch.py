"""datasketch side of bench/dedup.ts: the same word shingles, num_perm and threshold, run through
datasketch's MinHash and MinHashLSH as a user would (bulk MinHash, greedy query-then-insert dedup,
query against an index of the test split, the train split indexed first). Prints one JSON object.

Usage: python bench/dedup_datasketch.py <tokens.jsonl> <sample-ids.json> <out.json> <num_perm> <threshold> <shingle>
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
    tokens_file, ids_file, out_file = sys.argv[1:4]
    num_perm, threshold, k = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    samples, test, refs = [], [], []
    with open(tokens_file, encoding="utf8") as f:
        for line in f:
            r = json.loads(line)
            (test if r["test"] else refs if r.get("ref") else samples).append(r["full"])
    sample_ids = json.load(open(ids_file))

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
    kept = 0
    for i, m in enumerate(sample_mh):
        if test_lsh.query(m) or lsh.query(m):
            continue
        lsh.insert(i, m)
        kept += 1
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0

    # Accuracy, outside the timing: candidates of the sampled records in an index of every sample.
    full = MinHashLSH(threshold=threshold, num_perm=num_perm)
    with full.insertion_session() as s:
        for i, m in enumerate(sample_mh):
            s.insert(i, m)
    neighbours = {i: [j for j in full.query(sample_mh[i]) if j != i] for i in sample_ids}
    json.dump(
        {"seconds": seconds, "cpuSeconds": cpu_seconds, "kept": kept, "bands": full.b, "rows": full.r, "neighbours": neighbours},
        open(out_file, "w"),
    )


if __name__ == "__main__":
    main()
