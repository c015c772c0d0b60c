"""What a fast path does to the samples: the same x_T (and the same per-batch noise) sampled by a reference network
(strict fp32) and by the fast one, compared image by image and through FID.

The FID shift is a paired difference: both sample sets are resampled with the same bootstrap counts (image i of
one set is image i of the other, from the same x_T), so the noise of drawing n images cancels and what remains is
the precision's own effect. Its interval is set beside the interval of the reference FID itself: a shift well
inside that one is below the noise of the measurement the tables report.
"""

from __future__ import annotations

import numpy as np
import torch

from ddim_eval.data.images import to_uint8
from ddim_eval.experiment.generate import shard_batches
from ddim_eval.metrics.bootstrap import paired_difference, replicated
from ddim_eval.metrics.extractors import Extractor
from ddim_eval.metrics.features import chunk_stats
from ddim_eval.metrics.scores import IntervalOptions, score_cell
from ddim_eval.metrics.stats import FeatureStats
from ddim_eval.sampling.common import EpsModel
from ddim_eval.sampling.run import SamplerRun


def fast_path_check(reference: EpsModel, fast: EpsModel, model: str, *, shape: tuple[int, ...], run: SamplerRun,
                    n: int, shard: int, extractor: Extractor,
                    ref_stats: FeatureStats, batch_size: int, device: torch.device | str = "cpu",
                    intervals: IntervalOptions | None = None, progress: bool = True) -> dict:
    """Sample shard `shard` (n images) with both networks and compare: per-image max |x_0 difference| (on the
    [-1, 1] scale), the share of uint8 pixels (and of images) that differ, and FID of both with the paired
    difference fast - reference and its interval."""
    intervals = intervals or IntervalOptions()
    args = (model, shard, n, shape, run)
    kwargs = {"batch_size": batch_size, "device": device, "progress": progress}
    max_abs, images_differ, pixels_differ = [], [], 0
    features: dict[str, list[np.ndarray]] = {"reference": [], "fast": []}
    for (x_ref, _), (x_fast, _) in zip(shard_batches(reference, *args, **kwargs), shard_batches(fast, *args, **kwargs)):
        max_abs.append((x_fast - x_ref).abs().flatten(1).amax(1).cpu().numpy())
        u_ref, u_fast = to_uint8(x_ref).cpu(), to_uint8(x_fast).cpu()
        differ = (u_ref != u_fast).flatten(1)
        pixels_differ += int(differ.sum())
        images_differ.append(differ.any(1).numpy())
        features["reference"].append(extractor(u_ref).numpy())
        features["fast"].append(extractor(u_fast).numpy())
    max_abs = np.concatenate(max_abs)
    scores = {name: score_cell(chunk_stats(chunks, extractor.name, extractor.layer), ref_stats,
                               np.concatenate(chunks), intervals=intervals, device=device)
              for name, chunks in features.items()}
    shift = paired_difference(replicated(scores["fast"]), replicated(scores["reference"]), intervals.level)
    fid_ref = scores["reference"]
    return {
        "n": n, "shard": shard, "sampler": run.label, "nfe": run.nfe, "extractor": extractor.name,
        "max_abs_x0_difference": float(max_abs.max()), "median_max_abs_x0_difference": float(np.median(max_abs)),
        "share_pixels_differ": pixels_differ / (n * int(np.prod(shape))),
        "share_images_differ": float(np.concatenate(images_differ).mean()),
        "fid_reference": fid_ref["fid"], "fid_reference_ci_low": fid_ref["fid_ci_low"],
        "fid_reference_ci_high": fid_ref["fid_ci_high"], "fid_fast": scores["fast"]["fid"],
        "fid_shift": shift["difference"], "fid_shift_ci_low": shift["ci_low"], "fid_shift_ci_high": shift["ci_high"],
        "fid_shift_significant": shift["significant"],
        # The reference FID's own interval half-width: the noise of the number a table reports at this n.
        "fid_noise_half_width": (fid_ref["fid_ci_high"] - fid_ref["fid_ci_low"]) / 2,
    } | intervals.describe()
