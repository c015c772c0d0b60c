"""Feature statistics: float64 mean and covariance, streamed batch by batch and mergeable across shards.

Moments are kept as (n, mean, M2) with M2 the sum of centred outer products and combined with Chan et al.'s
pairwise update, so 50k features never sit in memory together and merging shards in any grouping gives the
one-pass result (to rounding). Saved as `.npz` with mu, sigma (unbiased, as `np.cov`), n, extractor and layer;
statistics from different extractors or feature layers refuse to be compared or merged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddim_eval.io import load_npz, save_npz

# The extractor of the paper's FID: torch-fidelity's TF-compatible Inception. Statistics, tables and figures compare
# an extractor name with it; it lives here, beside what a statistics file records, so that they need no torch.
INCEPTION = "inception-v3-compat"


@dataclass(frozen=True)
class FeatureStats:
    n: int
    mu: np.ndarray  # float64 [d]
    m2: np.ndarray  # float64 [d, d], sum over samples of (f - mu)(f - mu)^T
    extractor: str
    layer: str
    # (C, H, W) of the images, where recorded: a reference split's statistics record it, so that samples of
    # another size are refused against them (Inception would resize them silently).
    image_shape: tuple[int, ...] | None = None

    @property
    def sigma(self) -> np.ndarray:
        """The unbiased covariance (divides by n - 1, as `np.cov` and torch-fidelity do)."""
        if self.n < 2:
            raise ValueError(f"a covariance needs at least 2 samples; these statistics hold {self.n}")
        return self.m2 / (self.n - 1)

    def describe(self) -> str:
        return f"{self.extractor} layer {self.layer} ({self.n} samples, {len(self.mu)}-d)"


def _check_features(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) == 0:
        raise ValueError(f"need features [N > 0, d]; got shape {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError(f"features hold {int((~np.isfinite(features)).sum())} NaN/inf values")
    return features


def from_features(features: np.ndarray, extractor: str, layer: str) -> FeatureStats:
    """Statistics of one batch of features [N, d]."""
    f = _check_features(features)
    mu = f.mean(0)
    centred = f - mu
    return FeatureStats(len(f), mu, centred.T @ centred, extractor, layer)


def check_compatible(a: FeatureStats, b: FeatureStats, what_a: str = "first", what_b: str = "second") -> None:
    """Raise unless a and b come from the same extractor, layer and dimension."""
    if (a.extractor, a.layer, a.mu.shape) != (b.extractor, b.layer, b.mu.shape):
        raise ValueError(f"statistics do not match: {what_a} is {a.describe()}, {what_b} is {b.describe()}; "
                         "compare only statistics from the same extractor and feature layer")


def merge(a: FeatureStats, b: FeatureStats) -> FeatureStats:
    """The statistics of the union of two disjoint sample sets (Chan et al.'s pairwise update)."""
    check_compatible(a, b)
    n = a.n + b.n
    delta = b.mu - a.mu
    mu = a.mu + delta * (b.n / n)
    m2 = a.m2 + b.m2 + np.outer(delta, delta) * (a.n * b.n / n)
    return FeatureStats(n, mu, m2, a.extractor, a.layer)


def merge_all(parts: Iterable[FeatureStats]) -> FeatureStats:
    total = None
    for part in parts:
        total = part if total is None else merge(total, part)
    if total is None:
        raise ValueError("nothing to merge: no statistics given")
    return total


def save_stats(path: str | os.PathLike, stats: FeatureStats) -> Path:
    """Write mu, sigma, n, extractor and layer (and the image shape, where recorded) to `path` (.npz),
    atomically."""
    shape = {} if stats.image_shape is None else {"image_shape": np.array(stats.image_shape, dtype=np.int64)}
    return save_npz(path, mu=stats.mu, sigma=stats.sigma, n=np.int64(stats.n), extractor=np.str_(stats.extractor),
                    layer=np.str_(stats.layer), **shape)


def _check_moments(path: str | os.PathLike, mu: np.ndarray, sigma: np.ndarray, n: int) -> None:
    """ValueError naming the file unless n >= 2 and sigma is a finite, symmetric, positive semi-definite [d, d]
    covariance of a finite mean [d] (within rounding: a merged covariance is symmetric to ~1e-16 of its scale)."""
    def bad(what: str) -> ValueError:
        return ValueError(f"{path} holds corrupt statistics: {what}")

    if n < 2:
        raise bad(f"n = {n}; a covariance needs at least 2 samples")
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise bad(f"mu has shape {mu.shape} and sigma {sigma.shape}; need [d] and [d, d]")
    for name, a in (("mu", mu), ("sigma", sigma)):
        if not np.isfinite(a).all():
            raise bad(f"{name} holds {int((~np.isfinite(a)).sum())} NaN/inf values")
    scale = max(float(np.abs(sigma).max()), np.finfo(np.float64).tiny)
    asymmetry = float(np.abs(sigma - sigma.T).max())
    if asymmetry > 1e-8 * scale:
        raise bad(f"sigma is not symmetric (max |sigma - sigma^T| = {asymmetry:.3g})")
    try:  # positive semi-definite up to rounding: a Cholesky factor exists after a jitter of 1e-8 of the scale
        np.linalg.cholesky(sigma + 1e-8 * scale * np.eye(len(mu)))
    except np.linalg.LinAlgError:
        raise bad(f"sigma is not positive semi-definite (smallest eigenvalue {np.linalg.eigvalsh(sigma)[0]:.3g})"
                  ) from None


def load_stats(path: str | os.PathLike, extractor: str | None = None, layer: str | None = None) -> FeatureStats:
    """Read a statistics file, its moments checked (`_check_moments`); with `extractor` / `layer` given, refuse one
    computed with others."""
    z = load_npz(path, ("mu", "sigma", "n", "extractor", "layer"), "ddim-eval statistics", optional=("image_shape",))
    n = int(z["n"])
    _check_moments(path, z["mu"], z["sigma"], n)
    shape = tuple(int(d) for d in z["image_shape"]) if "image_shape" in z else None
    stats = FeatureStats(n, z["mu"].astype(np.float64), z["sigma"].astype(np.float64) * (n - 1), str(z["extractor"]),
                         str(z["layer"]), shape)
    for key, want in (("extractor", extractor), ("layer", layer)):
        if want is not None and getattr(stats, key) != want:
            raise ValueError(f"{path} holds statistics of {stats.describe()}; expected {key} {want!r}")
    return stats
