#!/usr/bin/env python3
"""Simulates neurons retrying a registration refused by the ledger's per-block cap.

The rule is Neuron's: after its k-th refusal a neuron waits a number of blocks drawn from
1 to min(bound, 2^(k-1)) and sends again; every neuron first sends in block 1, and a block
takes `cap` of the registrations sent for it, in random order. Prints, for each crowd size
and window bound, the mean refusals and the mean number of blocks until the last one landed,
over 200 seeded draws; the figures in docs/ledger.md ("Replacement") come from it.
"""
import random


def run(neurons, cap, bound, seed):
    rng = random.Random(seed)
    due = {i: 1 for i in range(neurons)}
    refused = {i: 0 for i in range(neurons)}
    refusals = 0
    block = 0
    while due:
        block += 1
        sending = [i for i, b in due.items() if b == block]
        rng.shuffle(sending)
        for j, i in enumerate(sending):
            if j < cap:
                del due[i]
                continue
            refusals += 1
            refused[i] += 1
            window = min(bound, 1 << min(refused[i] - 1, 30))
            due[i] = block + 1 + rng.randrange(window)
    return refusals, block


def main():
    print("neurons  bound  refusals  blocks (means of 200 draws, cap 1 a block)")
    for neurons in (16, 100, 1000):
        print(f"{neurons:7d}  {'none':>5}  {neurons * (neurons - 1) // 2:8d}  {neurons:6d}"
              "  (every waiting neuron resends at every block)")
        for bound in (1024, 64):
            runs = [run(neurons, 1, bound, seed) for seed in range(200)]
            refusals = sum(r for r, _ in runs) / len(runs)
            blocks = sum(b for _, b in runs) / len(runs)
            print(f"{neurons:7d}  {bound:5d}  {refusals:8.0f}  {blocks:6.0f}")


if __name__ == "__main__":
    main()
