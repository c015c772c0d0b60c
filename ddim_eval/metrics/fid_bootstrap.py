"""FID of weighted (resampled) generated features against fixed reference statistics, many weightings at once.

The reference statistics stay fixed: they are the benchmark's definition (FID against CIFAR-10's 50k training
images, all of them), every cell of a dataset shares them, so comparisons between cells are conditional on them
anyway; the interval is about the generated samples only.

With R = S_ref^(1/2) computed once, tr((S_gen S_ref)^(1/2)) is the sum of square roots of the eigenvalues of
R S_gen R, and R S_gen R is a weighted Gram matrix of the projected, centred features G = (F - mean) R. So one
resample costs one [d, n] x [n, d] product (float64) and one symmetric eigendecomposition of [d, d]; nothing of
size n is copied per resample beyond the weighted product's operand. It runs on any torch device: on a GPU the
paper-size cell (50k x 2048, 200 resamples) takes seconds (benchmarks/bootstrap_cost.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ddim_eval.metrics.distances import psd_sqrt
from ddim_eval.metrics.stats import FeatureStats


def _nonnegative(w: torch.Tensor) -> torch.Tensor:
    # As distances._psd_eigenvalues: eigenvalues under the rank tolerance are rounding noise around 0.
    tol = w.shape[-1] * torch.finfo(w.dtype).eps * w.abs().amax(-1, keepdim=True).clamp(min=0)
    return torch.where(w > tol, w, torch.zeros_like(w))


def weighted_fid(features: np.ndarray, ref: FeatureStats, *,
                 device: torch.device | str = "cpu") -> Callable[[np.ndarray], np.ndarray]:
    """A function from counts [B, n] (how often each of the n samples is drawn in each of B weightings; totals may
    differ from n) to the FID (float64 [B]) of each weighting of `features` [n, d] against `ref`. The projection
    it needs is computed once, here."""
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[1] != len(ref.mu):
        raise ValueError(f"features of shape {features.shape} do not match {ref.describe()}")
    n = len(features)
    f64 = dict(device=torch.device(device), dtype=torch.float64)
    f = torch.tensor(features, **f64)  # a float64 copy on the device (centred in place below)
    mu = f.mean(0)
    f -= mu  # the weighted moments need no large offsets
    root = torch.as_tensor(psd_sqrt(ref.sigma), **f64)
    g = f @ root
    squared_norms = f.square().sum(1)
    offset = mu - torch.as_tensor(ref.mu, **f64)
    trace_ref = float(np.trace(ref.sigma))

    def fids(counts: np.ndarray) -> np.ndarray:
        counts = np.asarray(counts)
        if counts.ndim != 2 or counts.shape[1] != n:
            raise ValueError(f"counts of shape {counts.shape} do not weight {n} samples")
        if (counts < 0).any() or (counts.sum(1) < 2).any():
            raise ValueError("counts must be >= 0 and draw at least 2 samples per weighting")
        out = torch.empty(len(counts), **f64)
        for b, row in enumerate(counts):
            # Only the drawn samples: a resample holds about 63% of them and a FID_inf subset fewer, and the
            # products below cost in proportion to the rows they read.
            nonzero = np.flatnonzero(row)
            drawn, w = torch.as_tensor(nonzero, device=f.device), torch.as_tensor(row[nonzero], **f64)
            m = w.sum()
            shift = (w @ f[drawn]) / m  # weighted mean - mean
            shift_projected = shift @ root
            g_drawn = g[drawn]
            gram = g_drawn.T @ (g_drawn * w[:, None])
            cov_projected = (gram - m * torch.outer(shift_projected, shift_projected)) / (m - 1)
            trace_cov = (w @ squared_norms[drawn] - m * shift @ shift) / (m - 1)
            eigenvalues = _nonnegative(torch.linalg.eigvalsh(cov_projected))
            out[b] = (offset + shift).square().sum() + trace_cov + trace_ref - 2 * eigenvalues.sqrt().sum()
        return out.cpu().numpy()

    return fids


def fid_replicates(features: np.ndarray, ref: FeatureStats, counts: np.ndarray, *,
                   device: torch.device | str = "cpu") -> np.ndarray:
    """FID (float64 [B]) of each weighting of `features` [n, d] given by `counts` [B, n] against `ref`. Counts of
    all ones give the FID of the features."""
    return weighted_fid(features, ref, device=device)(counts)
