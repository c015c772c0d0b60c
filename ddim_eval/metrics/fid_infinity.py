"""FID at infinitely many samples (Chong & Forsyth, "Effectively Unbiased FID and Inception Score and where to find
them", CVPR 2020): FID is measured on random subsets of several sizes N, a line is fitted to FID against 1/N, and
its intercept (N -> infinity) is FID_inf, free of FID's O(1/N) upward bias.

The subsets are drawn without replacement, 15 sizes evenly spaced from n/10 to n (the paper's 5k..50k of 50k). The
interval repeats the whole procedure on bootstrap resamples of the n samples (subsets are drawn from each
resample), so a replicate costs one FID per size: 15 x n_boot weighted FIDs.
"""

from __future__ import annotations

import numpy as np
import torch

from ddim_eval.metrics.bootstrap import Replicated, resample_counts
from ddim_eval.metrics.fid_bootstrap import weighted_fid
from ddim_eval.metrics.stats import FeatureStats

POINTS = 15


def subset_sizes(n: int, points: int = POINTS) -> np.ndarray:
    """Subset sizes from n/10 to n, evenly spaced (at least 2 samples each)."""
    return np.unique(np.linspace(max(2, n // 10), n, points).astype(int))


def _subsets(pool: np.ndarray, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Counts [len(sizes), n]: for each size, a subset drawn without replacement from the multiset `pool` (counts
    per sample)."""
    members = np.repeat(np.arange(len(pool)), pool)
    return np.stack([np.bincount(rng.choice(members, size, replace=False), minlength=len(pool))
                     for size in sizes])


def extrapolate(sizes: np.ndarray, fids: np.ndarray) -> float:
    """The intercept of the least-squares line FID = a + b / N."""
    design = np.stack([np.ones(len(sizes)), 1.0 / np.asarray(sizes, dtype=np.float64)], axis=1)
    return float(np.linalg.lstsq(design, np.asarray(fids, dtype=np.float64), rcond=None)[0][0])


def fid_infinity(features: np.ndarray, ref: FeatureStats, *, n_boot: int, seed: int,
                 device: torch.device | str = "cpu") -> tuple[Replicated, list[tuple[int, float]]]:
    """FID_inf of `features` against `ref` with its bootstrap replicates, and the (N, FID_N) points of the fit."""
    n = len(features)
    sizes = subset_sizes(n)
    rng = np.random.default_rng([seed, n, POINTS])
    fids_of = weighted_fid(features, ref, device=device)
    fids = fids_of(_subsets(np.ones(n, dtype=np.int64), sizes, rng))
    replicates = np.array([extrapolate(sizes, fids_of(_subsets(pool, sizes, rng)))
                           for pool in resample_counts(n, n_boot, seed)])
    # The intercept of a noisy line can fall below 0, where no FID lies: report the bound, inside its interval
    # (the replicates stay unclipped, so the interval's width and the paired differences keep the noise).
    return (Replicated(max(extrapolate(sizes, fids), 0.0), replicates, seed, n),
            list(zip(sizes.tolist(), fids.tolist())))
