#!/usr/bin/env python3
"""Runs the paper-mechanism epoch benchmark side by side: bittensor-incentive (JMH,
PaperEpochBenchmark) and the numpy/scipy baseline (paper_step.py) on the same seeded inputs,
interleaved for several rounds, and prints a markdown table of medians and ratios.

    mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
    python3 benchmarks/baselines/compare_incentive.py --rounds 3
    python3 benchmarks/baselines/compare_incentive.py --only dense:4096 --compare-jar old.jar
    python3 benchmarks/baselines/compare_incentive.py --only dense:4096 \
        --compare-jar benchmarks/target/benchmarks.jar --jvm-flags=-XX:+UseTransparentHugePages

Both sides run with the same memory settings: the JVM with a fixed, pre-touched heap, Python
with glibc told to keep freed memory (MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_), so
neither pays the kernel for fresh pages on every epoch; --default-malloc leaves Python's
allocator at its defaults instead (numpy then re-faults each temporary).
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

CASES = [
    # (JMH network param, baseline arguments, epochs the baseline times)
    ("dense:256", ["--n", "256"], 20),
    ("dense:1024", ["--n", "1024"], 10),
    ("dense:4096", ["--n", "4096"], 7),
    ("sparse:10000", ["--n", "10000", "--nnz-per-row", "64"], 10),
    ("sparse:100000", ["--n", "100000", "--nnz-per-row", "64"], 7),
    ("sparse:1000000", ["--n", "1000000", "--nnz-per-row", "64"], 3),
]


def run_java(network, threads, heap, jar=None, method="epoch", flags=""):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = ["java", "-jar", jar or JAR, r"PaperEpochBenchmark\.%s$" % method,
           "-p", "network=" + network,
           "-p", "threads=" + str(threads), "-f", "1", "-wi", "3", "-i", "5",
           "-jvmArgs", ("-Xms%s -Xmx%s -XX:+AlwaysPreTouch %s" % (heap, heap, flags)).strip(),
           "-rf", "json", "-rff", out]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        result = json.load(f)[0]["primaryMetric"]
    os.unlink(out)
    return statistics.median(result["rawData"][0])


def run_numpy(args, epochs, keep_memory):
    env = dict(os.environ)
    if keep_memory:
        env.update(MALLOC_MMAP_THRESHOLD_=str(1 << 34), MALLOC_TRIM_THRESHOLD_=str(1 << 36),
                   MALLOC_TOP_PAD_=str(1 << 30))
    cmd = [sys.executable, os.path.join(HERE, "paper_step.py"), "--epochs", str(epochs)] + args
    line = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(line)["msPerEpoch"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", help="substring of the cases to run, e.g. dense")
    p.add_argument("--default-malloc", action="store_true")
    p.add_argument("--heap", default="8g")
    p.add_argument("--compare-jar", help="another build's benchmarks.jar, run on 1 thread in the"
                   " same rounds (before/after a change)")
    p.add_argument("--jvm-flags", default="", help="more JVM flags for this jar's runs (not the"
                   " --compare-jar's), e.g. -XX:+UseTransparentHugePages")
    p.add_argument("--no-in-place", action="store_true", help="skip PaperSimulation's in-place"
                   " epoch (run for dense networks only: sparse bonds are not updated in place)")
    a = p.parse_args()
    rows = []
    for network, args, epochs in CASES:
        if a.only and a.only not in network:
            continue
        java1, java2, numpy, other, place1, place2 = [], [], [], [], [], []
        in_place = network.startswith("dense") and not a.no_in_place
        for r in range(a.rounds):
            numpy.append(run_numpy(args, epochs, not a.default_malloc))
            if a.compare_jar:
                other.append(run_java(network, 1, a.heap, a.compare_jar))
                print("round %d %s: other jar %.2f ms (1 thread)" % (r + 1, network, other[-1]),
                      file=sys.stderr)
            java1.append(run_java(network, 1, a.heap, flags=a.jvm_flags))
            java2.append(run_java(network, 2, a.heap, flags=a.jvm_flags))
            print("round %d %s: numpy %.2f ms, java %.2f ms (1 thread), %.2f ms (2 threads)"
                  % (r + 1, network, numpy[-1], java1[-1], java2[-1]), file=sys.stderr)
            if in_place:
                place1.append(run_java(network, 1, a.heap, method="simulationStep",
                                       flags=a.jvm_flags))
                place2.append(run_java(network, 2, a.heap, method="simulationStep",
                                       flags=a.jvm_flags))
                print("round %d %s: in place %.2f ms (1 thread), %.2f ms (2 threads)"
                      % (r + 1, network, place1[-1], place2[-1]), file=sys.stderr)
        m_np, m_j1, m_j2 = (statistics.median(x) for x in (numpy, java1, java2))
        m_p1 = statistics.median(place1) if place1 else None
        m_p2 = statistics.median(place2) if place2 else None
        rows.append((network, m_np, m_j1, m_j2, m_p1, m_p2))
        if other:
            m_o = statistics.median(other)
            print("%s: other jar %.2f ms (%.1fx numpy); this jar %.2f ms: %.2fx the other"
                  % (network, m_o, m_np / m_o, m_j1, m_o / m_j1))
    def cell(m_np, ms):
        return "— | —" if ms is None else "%.2f | %.1fx" % (ms, m_np / ms)

    print("| network | numpy/scipy ms | step, 1 thread ms | ratio | step, 2 threads ms | ratio"
          " | in place, 1 thread ms | ratio | in place, 2 threads ms | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for network, m_np, m_j1, m_j2, m_p1, m_p2 in rows:
        print("| %s | %.2f | %s | %s | %s | %s |" % (network, m_np, cell(m_np, m_j1),
                                                   cell(m_np, m_j2), cell(m_np, m_p1),
                                                   cell(m_np, m_p2)))


if __name__ == "__main__":
    main()
