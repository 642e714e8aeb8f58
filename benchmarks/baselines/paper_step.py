#!/usr/bin/env python3
"""The paper's epoch written plainly in numpy (dense) and scipy.sparse (CSR): the baseline a
researcher would write instead of calling bittensor-incentive.

It builds the same seeded networks as io.bittensor.incentive.SyntheticNetworks, bit for bit, so
the Java benchmark and this one time the same inputs; it prints the same stake checksum so the
two can be compared.

    python3 benchmarks/baselines/paper_step.py --n 4096 --epochs 5
    python3 benchmarks/baselines/paper_step.py --n 1000000 --nnz-per-row 64 --epochs 3

Prints one JSON line: {"n":..,"nnz":..,"form":..,"msPerEpoch":..,"stakeChecksum":..}.
"""
import argparse
import json
import time

import numpy as np
import scipy.sparse as sp

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def mix_scalar(x):
    z = (x + GAMMA) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def mix(x):
    """SplitMix64's finaliser over a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def key(seed, stream):
    return np.uint64(mix_scalar((seed * 8 + stream) & MASK))


def uniform(k, index):
    with np.errstate(over="ignore"):
        return (mix(k + index) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def stake(n, seed):
    return 1 + 999 * uniform(key(seed, 0), np.arange(n, dtype=np.uint64))


def dense_network(n, seed):
    idx = np.arange(n * n, dtype=np.uint64)
    keep = uniform(key(seed, 2), idx) >= 0.5
    w = np.where(keep, uniform(key(seed, 1), idx), 0.0)
    b = np.where(w > 0, 0.001 * uniform(key(seed, 5), idx), 0.0)
    return stake(n, seed), w.reshape(n, n), b.reshape(n, n)


def sparse_network(n, per_row, seed):
    rows = np.repeat(np.arange(n, dtype=np.uint64), per_row)
    k = np.tile(np.arange(per_row, dtype=np.uint64), n)
    with np.errstate(over="ignore"):
        drawn = mix(key(seed, 3) + rows * np.uint64(per_row) + k) % np.uint64(n)
    drawn = np.sort(drawn.reshape(n, per_row), axis=1)
    keep = np.ones((n, per_row), dtype=bool)
    keep[:, 1:] = drawn[:, 1:] != drawn[:, :-1]
    cols = drawn[keep]
    row_of = np.repeat(np.arange(n, dtype=np.uint64), keep.sum(axis=1))
    with np.errstate(over="ignore"):
        flat = row_of * np.uint64(n) + cols
    w = uniform(key(seed, 1), flat)
    b = np.where(w > 0, 0.001 * uniform(key(seed, 5), flat), 0.0)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    cols = cols.astype(np.int32)
    W = sp.csr_matrix((w, cols, indptr), shape=(n, n))
    B = sp.csr_matrix((b, cols.copy(), indptr.copy()), shape=(n, n))
    return stake(n, seed), W, B


def step_dense(S, W, B, rho=10.0, kappa=0.5, tau=1.0, bond_share=0.5):
    """One epoch, dense, as the paper's formulas read."""
    s = S / S.sum()
    row = W.sum(axis=1, keepdims=True)
    W = np.divide(W, row, out=np.zeros_like(W), where=row > 0)
    R = W.T @ s
    T = (W > 0).astype(np.float64)
    t = T.T @ s
    C = 1.0 / (1.0 + np.exp(-rho * (t - kappa)))
    RC = R * C
    I = RC / RC.sum() if RC.sum() > 0 else np.zeros_like(RC)
    B2 = B + s[:, None] * W
    col = B2.sum(axis=0)
    # beta I as B2 q, q = I / colsum, as step_sparse and the Java kernel take it: an n x n beta
    # would add a pass and a temporary to this side only.
    q = np.divide(I, col, out=np.zeros_like(I), where=col > 0)
    dS = (1 - bond_share) * I + bond_share * (B2 @ q)
    L = -R @ (C - 0.5)
    return S + tau * dS, B2, L


def step_sparse(S, W, B, rho=10.0, kappa=0.5, tau=1.0, bond_share=0.5):
    """One epoch, CSR, as the paper's formulas read."""
    s = S / S.sum()
    row = np.asarray(W.sum(axis=1)).ravel()
    inv = np.divide(1.0, row, out=np.zeros_like(row), where=row > 0)
    W = sp.diags(inv) @ W
    R = W.T @ s
    T = W.copy()
    T.data = (T.data > 0).astype(np.float64)
    t = T.T @ s
    C = 1.0 / (1.0 + np.exp(-rho * (t - kappa)))
    RC = R * C
    I = RC / RC.sum() if RC.sum() > 0 else np.zeros_like(RC)
    B2 = B + sp.diags(s) @ W
    col = np.asarray(B2.sum(axis=0)).ravel()
    q = np.divide(I, col, out=np.zeros_like(I), where=col > 0)
    dS = (1 - bond_share) * I + bond_share * (B2 @ q)
    L = -R @ (C - 0.5)
    return S + tau * dS, B2, L


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--nnz-per-row", type=int)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    if a.nnz_per_row is None:
        S, W, B = dense_network(a.n, a.seed)
        step, nnz, form = step_dense, int(np.count_nonzero(W)), "dense"
    else:
        S, W, B = sparse_network(a.n, a.nnz_per_row, a.seed)
        step, nnz, form = step_sparse, int(W.count_nonzero()), "sparse"
    times, checksum = [], 0.0
    for _ in range(a.epochs):
        start = time.perf_counter()
        S2, _, _ = step(S, W, B)
        times.append((time.perf_counter() - start) * 1000)
        checksum += S2.sum()
    print(json.dumps({"n": a.n, "nnz": nnz, "form": form, "epochs": a.epochs,
                      "msPerEpoch": round(float(np.median(times)), 3),
                      "stakeChecksum": checksum / a.epochs}))


if __name__ == "__main__":
    main()
