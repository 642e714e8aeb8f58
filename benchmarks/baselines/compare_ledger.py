#!/usr/bin/env python3
"""Runs the ledger benchmarks interleaved for several rounds and prints markdown tables of
medians and ratios:

- submission: signed set-weights transactions accepted and acknowledged per second by a
  LocalLedger (LedgerSubmitBenchmark; journal on disk or in memory) beside raw Ed25519
  verification of the same transactions (SignatureVerifyBenchmark), on 1 and 2 threads, and
  the ledger's own work per transaction without verification or fsync
  (LedgerOverheadBenchmark);
- epochs: a block with an epoch for 4096 peers inside the ledger beside the bare mechanism on
  the same state (LedgerEpochBenchmark).

    mvn -B -q -pl benchmarks -am package -DskipTests
    python3 benchmarks/baselines/compare_ledger.py --rounds 3

Each round runs every configuration once, in the same order, so that a machine whose load
drifts affects all of them alike; the tables report the median over rounds of each JMH run's
median.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
JAR = os.path.join(ROOT, "benchmarks", "target", "benchmarks.jar")


def run(benchmark, params, extra, ignore_lock):
    """Runs one JMH benchmark class with the given params; returns {method: median score}."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = ["java"] + (["-Djmh.ignoreLock=true"] if ignore_lock else []) + [
        "-jar", JAR, benchmark, "-f", "1", "-rf", "json", "-rff", out] + extra
    for k, v in params.items():
        cmd += ["-p", "%s=%s" % (k, v)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        results = json.load(f)
    os.unlink(out)
    scores = {}
    for r in results:
        raw = [x for fork in r["primaryMetric"]["rawData"] for x in fork]
        scores[r["benchmark"].rsplit(".", 1)[1]] = statistics.median(raw)
    return scores


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", choices=["submit", "epoch"], help="run one part only")
    p.add_argument("--ignore-lock", action="store_true",
                   help="run even if another JMH holds /tmp/jmh.lock (a shared machine)")
    a = p.parse_args()
    submit = {}   # (threads, journal) -> [us per tx]
    verify = {}   # threads -> [us per tx]
    overhead = []  # us per tx, one thread, no verification
    epoch = {"bareMechanism": [], "ledgerBlockWithEpoch": []}
    short = ["-wi", "2", "-i", "5"]
    for r in range(a.rounds):
        if a.only in (None, "submit"):
            for threads in (1, 2):
                s = run("SignatureVerifyBenchmark", {"threads": threads}, short, a.ignore_lock)
                verify.setdefault(threads, []).append(s["verifyAll"])
                for journal in ("disk", "memory"):
                    s = run("LedgerSubmitBenchmark", {"threads": threads, "journal": journal},
                            short, a.ignore_lock)
                    submit.setdefault((threads, journal), []).append(
                        s["submitAndAwaitAcknowledgement"])
                print("round %d, %d thread(s): verify %.0f us/tx, ledger disk %.0f, memory %.0f"
                      % (r + 1, threads, verify[threads][-1], submit[(threads, "disk")][-1],
                         submit[(threads, "memory")][-1]), file=sys.stderr)
            s = run("LedgerOverheadBenchmark", {}, [], a.ignore_lock)
            overhead.append(s["applyAndSeal"])
            print("round %d: ledger work without verification %.1f us/tx" % (r + 1, overhead[-1]),
                  file=sys.stderr)
        if a.only in (None, "epoch"):
            s = run("LedgerEpochBenchmark", {}, ["-wi", "3", "-i", "5"], a.ignore_lock)
            for k in epoch:
                epoch[k].append(s[k])
            print("round %d: bare %.1f ms, ledger %.1f ms" % (
                r + 1, epoch["bareMechanism"][-1], epoch["ledgerBlockWithEpoch"][-1]),
                file=sys.stderr)
    if verify:
        print("| threads | Ed25519 verify only, tx/s | ledger, journal on disk, tx/s | ratio |"
              " ledger, in memory, tx/s | ratio |")
        print("|---:|---:|---:|---:|---:|---:|")
        for threads in sorted(verify):
            v = 1e6 / statistics.median(verify[threads])
            d = 1e6 / statistics.median(submit[(threads, "disk")])
            m = 1e6 / statistics.median(submit[(threads, "memory")])
            print("| %d | %.0f | %.0f | %.2f | %.0f | %.2f |" % (threads, v, d, d / v, m, m / v))
        o = statistics.median(overhead)
        v1 = statistics.median(verify[1])
        print()
        print("| per set-weights transaction, 1 thread | us |")
        print("|---|---:|")
        print("| Ed25519 verification | %.0f |" % v1)
        print("| everything else the ledger does (validate, apply, seal; no fsync) | %.1f |" % o)
        print("| verification's share of the ledger's CPU work | %.1f%% |" % (100 * v1 / (v1 + o)))
    if epoch["bareMechanism"]:
        b = statistics.median(epoch["bareMechanism"])
        l = statistics.median(epoch["ledgerBlockWithEpoch"])
        print()
        print("| 4096 peers, 64 weights a row | bare mechanism ms | block with epoch in the"
              " ledger ms | ratio |")
        print("|---|---:|---:|---:|")
        print("| epoch | %.1f | %.1f | %.2f |" % (b, l, l / b))


if __name__ == "__main__":
    main()
