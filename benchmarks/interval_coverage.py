"""How often the bootstrap intervals cover what they claim to, measured on synthetic Gaussian features.

Two paired "cells" A and B are Gaussian feature sets built from the same latent draw z (as two cells of a dataset
share x_T): A = z L_A + m_A, B = (c z + sqrt(1 - c^2) e) L_B + m_B. The reference statistics are fixed. The
targets are the finite-n expected values E[FID_n(A)] and E[FID_n(A)] - E[FID_n(B)], estimated from many
independent draws; each trial then draws one pair of cells, builds the intervals, and records whether they cover.
The naive percentile interval is measured beside ours to show why it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ddim_eval.metrics.bootstrap import Replicated, interval, paired_difference, resample_counts, unpaired_difference
from ddim_eval.metrics.distances import fid, frechet_distance
from ddim_eval.metrics.fid_bootstrap import fid_replicates
from ddim_eval.metrics.fid_infinity import fid_infinity
from ddim_eval.metrics.stats import FeatureStats, from_features


@dataclass(frozen=True)
class GaussianCells:
    d: int
    correlation: float
    seed: int

    def _parameters(self) -> tuple[np.ndarray, ...]:
        rng = np.random.default_rng(self.seed)
        d = self.d
        scale_a = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
        scale_b = scale_a + 0.15 * rng.normal(size=(d, d)) / np.sqrt(d)
        mean_a, mean_b = 0.3 * rng.normal(size=d), 0.3 * rng.normal(size=d)
        return scale_a, scale_b, mean_a, mean_b

    def reference(self) -> FeatureStats:
        """Fixed reference statistics: N(0, I) as if measured on a very large set."""
        return FeatureStats(10**9, np.zeros(self.d), np.eye(self.d) * (10**9 - 1), "gaussian", "synthetic")

    def population_fid(self) -> float:
        """FID of A's own distribution against the reference: the target of FID_inf."""
        scale_a, _, mean_a, _ = self._parameters()
        return frechet_distance(mean_a, scale_a.T @ scale_a, np.zeros(self.d), np.eye(self.d))

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n paired samples of A and B: row i of both comes from the same latent."""
        scale_a, scale_b, mean_a, mean_b = self._parameters()
        z, e = rng.normal(size=(n, self.d)), rng.normal(size=(n, self.d))
        c = self.correlation
        return z @ scale_a + mean_a, (c * z + np.sqrt(1 - c * c) * e) @ scale_b + mean_b


def _fid(features: np.ndarray, ref: FeatureStats) -> float:
    return fid(from_features(features, ref.extractor, ref.layer), ref)


def expected_fids(cells: GaussianCells, n: int, draws: int, seed: int) -> tuple[float, float, float]:
    """E[FID_n(A)], E[FID_n(B)] and the standard error of the first, from `draws` independent draws."""
    rng, ref = np.random.default_rng(seed), cells.reference()
    values = np.array([[_fid(f, ref) for f in cells.draw(n, rng)] for _ in range(draws)])
    return float(values[:, 0].mean()), float(values[:, 1].mean()), float(values[:, 0].std(ddof=1) / np.sqrt(draws))


def measure_coverage(cells: GaussianCells, n: int, *, trials: int, n_boot: int, level: float = 0.95,
                     draws: int = 2000, seed: int = 0, device: torch.device | str = "cpu") -> dict[str, float]:
    """Coverage shares and mean widths over `trials`: ours and the percentile interval for FID(A), the paired and
    unpaired intervals for FID(A) - FID(B)."""
    target_a, target_b, target_se = expected_fids(cells, n, draws, seed + 1)
    ref, rng = cells.reference(), np.random.default_rng(seed + 2)
    hits = {"fid": [], "fid_percentile": [], "paired": [], "unpaired": []}
    widths = {key: [] for key in hits}
    for trial in range(trials):
        fa, fb = cells.draw(n, rng)
        counts = resample_counts(n, n_boot, seed=trial)
        a, b = (Replicated(_fid(f, ref), fid_replicates(f, ref, counts, device=device), trial, n) for f in (fa, fb))
        lows_highs = {"fid": interval(a.value, a.replicates, level),
                      "fid_percentile": tuple(np.quantile(a.replicates, [(1 - level) / 2, (1 + level) / 2]))}
        for key, diff in (("paired", paired_difference(a, b, level)), ("unpaired", unpaired_difference(a, b, level))):
            lows_highs[key] = (diff["ci_low"], diff["ci_high"])
        for key, (low, high) in lows_highs.items():
            target = target_a - target_b if key in ("paired", "unpaired") else target_a
            hits[key].append(low <= target <= high)
            widths[key].append(high - low)
    result = {"n": n, "d": cells.d, "trials": trials, "n_boot": n_boot, "level": level, "target_fid": target_a,
              "target_fid_se": target_se, "target_difference": target_a - target_b}
    for key in hits:
        result[f"coverage_{key}"] = float(np.mean(hits[key]))
        result[f"width_{key}"] = float(np.mean(widths[key]))
    return result


def measure_infinity_coverage(cells: GaussianCells, n: int, *, trials: int, n_boot: int, level: float = 0.95,
                              seed: int = 0) -> dict[str, float]:
    """How often the FID_inf interval of A covers A's population FID, its mean width and the mean FID_inf and FID
    (FID_inf should sit near the target where FID sits above it)."""
    target, ref, rng = cells.population_fid(), cells.reference(), np.random.default_rng(seed + 3)
    hits, widths, values, fids = [], [], [], []
    for trial in range(trials):
        features = cells.draw(n, rng)[0]
        estimate, _ = fid_infinity(features, ref, n_boot=n_boot, seed=trial)
        low, high = estimate.interval(level)
        hits.append(low <= target <= high)
        widths.append(high - low)
        values.append(estimate.value)
        fids.append(_fid(features, ref))
    return {"n": n, "d": cells.d, "trials": trials, "n_boot": n_boot, "level": level, "target_fid_inf": target,
            "mean_fid_inf": float(np.mean(values)), "mean_fid": float(np.mean(fids)),
            "coverage_fid_inf": float(np.mean(hits)), "width_fid_inf": float(np.mean(widths))}
