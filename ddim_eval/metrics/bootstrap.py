"""Bootstrap intervals over generated samples, and paired differences between cells.

Resamples are multinomial counts (how often each of the n samples is drawn), never copies of the data: a
statistic that is a weighted sum over samples (means, second moments) takes the counts as weights. The counts
come from a seed and n alone, so every cell of a dataset (same n, same x_T for sample i) is resampled with the same
indices, and the difference of two cells' replicates is a paired bootstrap of their difference at no extra cost.

The interval (`interval`) is for the statistic's expected value at this n, e.g. the expected FID of n samples from
this sampler against this reference. FID is biased upward at finite n, and the bootstrap reproduces that bias (a
resample's FID sits above the measured one by about the same amount), so percentiles of the replicates would be
shifted away from their target: the interval instead takes the replicates' spread around their own mean and
reflects it about the measured value (a basic bootstrap interval with the bootstrap's bias removed). Its coverage
is measured in `benchmarks/bootstrap_coverage.py` (docs/intervals.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHOD = "basic bootstrap, centred"


def check_level(level: float) -> float:
    """The confidence level, or an error: it must lie strictly between 0 and 1."""
    if not isinstance(level, int | float) or not 0 < level < 1:
        raise ValueError(f"interval level {level!r} is outside (0, 1); use e.g. 0.95 for a 95% interval")
    return float(level)


def check_n_boot(n_boot: int) -> int:
    """The number of resamples, or an error: an interval needs at least 2."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 2:
        raise ValueError(f"n_boot {n_boot!r}: a bootstrap interval needs an integer number of resamples >= 2 "
                         "(200 is the default)")
    return int(n_boot)


def resample_counts(n: int, n_boot: int, seed: int, size: int | None = None) -> np.ndarray:
    """int32 [n_boot, n]: row b counts how often each of n samples is drawn in resample b of `size` draws with
    replacement (default n). The same (n, n_boot, seed, size) gives the same counts on every machine."""
    n_boot = check_n_boot(n_boot)
    if n < 2:
        raise ValueError(f"a bootstrap needs at least 2 samples; got {n}")
    size = n if size is None else size
    rng = np.random.default_rng([seed, n, size])
    return np.stack([np.bincount(rng.integers(0, n, size), minlength=n) for _ in range(n_boot)]).astype(np.int32)


def interval(estimate: float, replicates: np.ndarray, level: float, floor: float | None = None
             ) -> tuple[float, float]:
    """The centred basic bootstrap interval for E[estimate]: [estimate - (q_hi - m), estimate + (m - q_lo)], with
    q the replicates' quantiles at (1 -+ level) / 2 and m their mean; for a quantity that cannot lie below
    `floor` (FID, an MSE: 0), the interval is cut there (both ends: an extrapolated estimate may fall below it)."""
    level = check_level(level)
    replicates = np.asarray(replicates, dtype=np.float64)
    if replicates.ndim != 1 or len(replicates) < 2 or not np.isfinite(replicates).all():
        raise ValueError(f"need at least 2 finite bootstrap replicates; got {replicates.size} "
                         f"({int((~np.isfinite(replicates)).sum())} not finite)")
    low, high = np.quantile(replicates, [(1 - level) / 2, (1 + level) / 2])
    centre = replicates.mean()
    lower = estimate - (high - centre)
    upper = estimate + (centre - low)
    return (float(lower), float(upper)) if floor is None else (float(max(lower, floor)), float(max(upper, floor)))


@dataclass(frozen=True)
class Replicated:
    """A measured value with its bootstrap replicates, and the resampling that made them (for pairing checks)."""

    value: float
    replicates: np.ndarray
    seed: int
    n: int
    floor: float | None = 0.0  # the metrics resampled here (FID, FID_inf, MSE) are >= 0

    def interval(self, level: float) -> tuple[float, float]:
        return interval(self.value, self.replicates, level, self.floor)


def replicated(record: dict, metric: str = "fid") -> Replicated:
    """A cell's `metric` (one of its record's "replicates") with its bootstrap replicates, from its metrics
    record."""
    return Replicated(record[metric], np.asarray(record["replicates"][metric]), record["bootstrap_seed"],
                      record["n"])


def paired_difference(a: Replicated, b: Replicated, level: float) -> dict[str, float | bool]:
    """a - b with its paired interval (the same resamples in both) and whether it excludes 0."""
    if (a.seed, a.n, len(a.replicates)) != (b.seed, b.n, len(b.replicates)):
        raise ValueError("a paired comparison needs replicates from the same resamples; got seed/n/n_boot "
                         f"{a.seed}/{a.n}/{len(a.replicates)} and {b.seed}/{b.n}/{len(b.replicates)}")
    return _difference(a.value - b.value, a.replicates - b.replicates, level)


def unpaired_difference(a: Replicated, b: Replicated, level: float) -> dict[str, float | bool]:
    """a - b with the interval it would have if the cells were independent: b's replicates are paired with a's
    in another order (resamples are independent across replicates, so this pairs independent resamples)."""
    shifted = np.roll(b.replicates, 1)
    return _difference(a.value - b.value, a.replicates - shifted, level)


def _difference(value: float, replicates: np.ndarray, level: float) -> dict[str, float | bool]:
    low, high = interval(value, replicates, level)
    return {"difference": value, "ci_low": low, "ci_high": high, "significant": bool(low > 0 or high < 0)}
