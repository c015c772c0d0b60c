"""FID and KID between two feature sets, as torch-fidelity defines them.

FID is the Fréchet distance between Gaussians fitted to the features:
    |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).
How it stays accurate for singular or near-singular covariances (fewer samples than dimensions, dead features):
tr((S1 S2)^(1/2)) is the sum of the singular values of S1^(1/2) S2^(1/2) (the nuclear norm: A S2 A with
A = S1^(1/2) is (A B)(A B)^T with B = S2^(1/2)). Each root comes from a symmetric eigendecomposition whose
eigenvalues below numpy's rank tolerance are set to 0, so everything stays real, needs no epsilon ridge, and never
takes the square root of rounding noise. torch-fidelity's eigenvalues of the non-symmetric S1 S2 (and scipy's
sqrtm) take square roots of ~1e-16 noise eigenvalues, each adding ~1e-8: for two identical rank-20 covariances in
64 dimensions they give FID -6e-7 where this gives 3e-14 (rank 500 in 2048: -3e-5 against 8e-13); see
tests/test_metrics.py.

KID is torch-fidelity's own estimator (polynomial-kernel MMD over random subsets), called on our features.
"""

from __future__ import annotations

import numpy as np
import torch

from ddim_eval.metrics.stats import FeatureStats, check_compatible


def _psd_eigenvalues(w: np.ndarray) -> np.ndarray:
    # Eigenvalues below the rank tolerance (numpy's matrix_rank: d * eps * max) are rounding noise around 0; their
    # square roots (~1e-8 each) would otherwise add up to a bias in FID.
    tol = len(w) * np.finfo(w.dtype).eps * max(np.abs(w).max(), 0.0)
    return np.where(w > tol, w, 0.0)


def psd_sqrt(m: np.ndarray) -> np.ndarray:
    """The symmetric square root of a positive semi-definite matrix, rounding-noise eigenvalues set to 0."""
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(_psd_eigenvalues(w))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """The Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"shapes do not match: mu {mu1.shape} and {mu2.shape}, sigma {sigma1.shape} and "
                         f"{sigma2.shape}")
    tr_covmean = np.linalg.svd(psd_sqrt(sigma1) @ psd_sqrt(sigma2), compute_uv=False).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def fid(a: FeatureStats, b: FeatureStats) -> float:
    """FID between two statistics from the same extractor and layer."""
    check_compatible(a, b)
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)


def kid(features1: np.ndarray, features2: np.ndarray, *, subsets: int = 100, subset_size: int = 1000,
        seed: int = 2020) -> dict[str, float]:
    """KID mean and std over `subsets` random subsets (torch-fidelity's defaults), the subset size capped at the
    smaller set (the size used is returned as `kid_subset_size`)."""
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    f1, f2 = (torch.as_tensor(np.asarray(f, dtype=np.float32)) for f in (features1, features2))
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1] or min(len(f1), len(f2)) < 2:
        raise ValueError(f"KID needs two feature sets [N >= 2, d] of the same d; got {tuple(f1.shape)} and "
                         f"{tuple(f2.shape)}")
    size = min(subset_size, len(f1), len(f2))
    out = kid_features_to_metric(f1, f2, kid_subsets=subsets, kid_subset_size=size, rng_seed=seed, verbose=False)
    return {"kid_mean": out[KEY_METRIC_KID_MEAN], "kid_std": out[KEY_METRIC_KID_STD], "kid_subset_size": size}
