"""KID over all pairs, for weighted (resampled) generated features: the unbiased MMD^2 with KID's polynomial
kernel k(x, y) = (x.y / d + 1)^3 (Binkowski et al. 2018), against fixed reference features.

torch-fidelity's KID averages the same unbiased MMD^2 over 100 random subsets of 1000; the all-pairs estimate has
the same expectation and less noise, and, unlike the subset average, it is a quadratic form in the resample counts
w: sum_ij w_i w_j k(x_i, x_j) - sum_i w_i k(x_i, x_i) over m (m - 1) pairs (a sample drawn twice pairs with its
copy, as it would in an explicitly resampled set), so every resample reuses one pass over the kernel matrix, in
blocks, on any torch device.
"""

from __future__ import annotations

import numpy as np
import torch

BLOCK = 4096


def _kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a @ b.T / a.shape[1] + 1) ** 3


def _self_kernel(a: torch.Tensor) -> torch.Tensor:
    """k(a_i, a_i) for every row: the diagonal of the kernel matrix, which the unbiased estimate leaves out."""
    return ((a * a).sum(1) / a.shape[1] + 1) ** 3


def kid_replicates(features: np.ndarray, ref_features: np.ndarray, counts: np.ndarray, *,
                   device: torch.device | str = "cpu") -> np.ndarray:
    """All-pairs KID (float64 [B]) of each weighting `counts` [B, n] of `features` [n, d] against `ref_features`."""
    f64 = dict(device=torch.device(device), dtype=torch.float64)
    x, y = torch.as_tensor(np.asarray(features), **f64), torch.as_tensor(np.asarray(ref_features), **f64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or len(y) < 2:
        raise ValueError(f"KID needs feature sets [n, d] and [r >= 2, d]; got {tuple(x.shape)} and {tuple(y.shape)}")
    w = torch.as_tensor(np.asarray(counts), **f64)
    if w.ndim != 2 or w.shape[1] != len(x) or (w.sum(1) < 2).any():
        raise ValueError(f"counts of shape {tuple(w.shape)} do not weight {len(x)} samples (>= 2 drawn each)")
    r = len(y)
    ref_pairs = torch.zeros((), **f64)
    cross = torch.zeros(len(x), **f64)  # sum over the reference of k(x_i, y_j)
    quadratic = torch.zeros(len(w), **f64)  # w^T K_xx w
    for j in range(0, r, BLOCK):
        ref_pairs += _kernel(y[j:j + BLOCK], y).sum()
        for i in range(0, len(x), BLOCK):
            cross[i:i + BLOCK] += _kernel(x[i:i + BLOCK], y[j:j + BLOCK]).sum(1)
    for i in range(0, len(x), BLOCK):
        for j in range(0, len(x), BLOCK):
            quadratic += ((w[:, i:i + BLOCK] @ _kernel(x[i:i + BLOCK], x[j:j + BLOCK])) * w[:, j:j + BLOCK]).sum(1)
    m = w.sum(1)
    ref_term = (ref_pairs - _self_kernel(y).sum()) / (r * (r - 1))
    out = (quadratic - w @ _self_kernel(x)) / (m * (m - 1)) + ref_term - 2 * (w @ cross) / (m * r)
    return out.cpu().numpy()
