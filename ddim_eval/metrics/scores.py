"""Everything measured of one cell against its reference: FID with its bootstrap interval (and the replicates that
paired comparisons subtract), KID (torch-fidelity's subset average, and the all-pairs estimate with its interval),
and on request FID_inf (Chong & Forsyth) and precision / recall (Kynkäänniemi et al., through torch-fidelity)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from ddim_eval.metrics.bootstrap import METHOD, Replicated, check_level, check_n_boot, resample_counts
from ddim_eval.metrics.distances import fid, kid
from ddim_eval.metrics.fid_bootstrap import fid_replicates
from ddim_eval.metrics.fid_infinity import fid_infinity
from ddim_eval.metrics.kid_bootstrap import kid_replicates
from ddim_eval.metrics.stats import FeatureStats, check_compatible


@dataclass(frozen=True)
class IntervalOptions:
    """How intervals are made: level, resamples, and the seed every cell of a run shares (for pairing)."""

    level: float = 0.95
    n_boot: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        check_level(self.level)
        check_n_boot(self.n_boot)

    def describe(self) -> dict:
        return {"ci_level": self.level, "n_boot": self.n_boot, "ci_method": METHOD, "bootstrap_seed": self.seed}


def _with_interval(metric: str, estimate: Replicated, level: float) -> dict[str, float]:
    low, high = estimate.interval(level)
    return {metric: estimate.value, f"{metric}_ci_low": low, f"{metric}_ci_high": high}


def precision_recall(features: np.ndarray, ref_features: np.ndarray, *, neighborhood: int = 3,
                     device: torch.device | str = "cpu") -> dict[str, float]:
    """torch-fidelity's precision, recall and F-score (k-NN manifolds, k = neighborhood) of generated `features`
    against `ref_features`."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    f1, f2 = (torch.as_tensor(np.asarray(f, dtype=np.float32), device=device) for f in (features, ref_features))
    return prc_features_to_metric(f1, f2, prc_neighborhood=neighborhood, prc_batch_size=10000, save_cpu_ram=True,
                                  verbose=False)


@contextmanager
def _timed(seconds: dict[str, float], part: str, progress: bool) -> Iterator[None]:
    """Time a part of the scoring into `seconds`; with `progress`, say on stderr when it starts and how long it took
    (FID_inf on 50k samples runs for minutes on a GPU, hours on a CPU)."""
    if progress:
        print(f"{part.replace('_', ' ')}...", end=" ", file=sys.stderr, flush=True)
    start = time.perf_counter()
    yield
    seconds[part] = time.perf_counter() - start
    if progress:
        print(f"{seconds[part]:.1f} s", file=sys.stderr, flush=True)


def score_cell(cell: FeatureStats, ref: FeatureStats, features: np.ndarray, *,
               ref_features: np.ndarray | None = None, intervals: IntervalOptions | None = None,
               kid_subsets: int = 100, kid_subset_size: int = 1000, with_fid_infinity: bool = False,
               with_precision_recall: bool = False, device: torch.device | str = "cpu", progress: bool = False) -> dict:
    """The cell's metrics record: FID with its interval and replicates; given reference features, KID over all
    pairs with its interval and torch-fidelity's KID over `kid_subsets` subsets (0: not computed); FID_inf and
    precision / recall when asked; and the seconds each part took (with `progress`, said on stderr as it goes)."""
    intervals = intervals or IntervalOptions()
    check_compatible(cell, ref, "the cell", "the reference")
    if len(features) != cell.n:
        raise ValueError(f"{len(features)} feature rows do not match the cell's statistics of {cell.n} samples")
    if with_precision_recall and ref_features is None:
        raise ValueError("precision and recall need the reference's features")
    level, seed, seconds = intervals.level, intervals.seed, {}
    estimates, extras = {}, {}
    with _timed(seconds, "fid_bootstrap", progress):
        counts = resample_counts(cell.n, intervals.n_boot, seed)
        estimates["fid"] = Replicated(fid(cell, ref), fid_replicates(features, ref, counts, device=device), seed,
                                      cell.n)
    if with_fid_infinity:
        with _timed(seconds, "fid_infinity", progress):
            estimates["fid_inf"], extras["fid_inf_points"] = fid_infinity(features, ref, n_boot=intervals.n_boot,
                                                                          seed=seed, device=device)
    if ref_features is not None:
        if kid_subsets:
            with _timed(seconds, "kid", progress):
                extras |= kid(features, ref_features, subsets=kid_subsets, subset_size=kid_subset_size)
        with _timed(seconds, "kid_all_pairs_bootstrap", progress):
            ones = np.ones((1, cell.n), np.int32)
            kids = kid_replicates(features, ref_features, np.vstack([ones, counts]), device=device)
            # An unbiased MMD^2 estimate may fall below 0: no floor.
            estimates["kid_all_pairs"] = Replicated(float(kids[0]), kids[1:], seed, cell.n, floor=None)
    if with_precision_recall:
        with _timed(seconds, "precision_recall", progress):
            extras |= precision_recall(features, ref_features, device=device)
    record = {"extractor": cell.extractor, "layer": cell.layer, "n": cell.n, "n_ref": ref.n}
    for metric, estimate in estimates.items():
        record |= _with_interval(metric, estimate, level)
    replicates = {metric: estimate.replicates.tolist() for metric, estimate in estimates.items()}
    return record | intervals.describe() | extras | {"seconds": seconds, "replicates": replicates}
