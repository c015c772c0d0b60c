"""Deviations from the paper's FID protocol, each measured on the same generated samples as the protocol itself so
that the FID shift it causes gets a paired bootstrap interval.

Every FID here is computed under the same resamples of the n samples (multinomial counts): sample i's features
under the paper's protocol and under the deviation (stored as JPEG, read by another extractor, compared with another
reference) are drawn together, so the replicates of the difference carry only the noise the deviation adds, not the
sampling noise both share. A smaller sample count is the first k samples, resampled apart from the other n - k
(a stratified bootstrap), so that its FID and the whole set's FID stay paired. The reference is held fixed, as
everywhere in this project: the intervals are over the generated samples.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from ddim_eval.metrics.bootstrap import Replicated, resample_counts
from ddim_eval.metrics.fid_bootstrap import weighted_fid
from ddim_eval.metrics.stats import FeatureStats, from_features


def fid_resampled(features: np.ndarray, ref: FeatureStats, counts: np.ndarray, seed: int, *,
                  device: torch.device | str = "cpu") -> Replicated:
    """FID of `features` against `ref`, with one replicate per row of `counts` [n_boot, n]."""
    ones = np.ones((1, len(features)), dtype=counts.dtype)
    fids = weighted_fid(features, ref, device=device)(np.vstack([ones, counts]))
    return Replicated(float(fids[0]), fids[1:], seed, len(features))


def nested_counts(n: int, k: int, n_boot: int, seed: int) -> np.ndarray:
    """Counts [n_boot, n] that resample the first k samples among themselves and the other n - k among themselves:
    columns [:k] are a resample of the subset, all columns one of the whole set, each row one paired draw."""
    if not 2 <= k < n - 1:
        raise ValueError(f"a subset of {k} of {n} samples: need 2 <= k <= n - 2 (two samples on each side)")
    return np.hstack([resample_counts(k, n_boot, seed), resample_counts(n - k, n_boot, seed + 1)])


def reference_subset(features: np.ndarray, size: int, seed: int, extractor: str, layer: str) -> FeatureStats:
    """Statistics of `size` reference features drawn without replacement (seeded)."""
    if not 2 <= size < len(features):
        raise ValueError(f"a reference subset of {size} images: the reference holds {len(features)}; need 2 <= size "
                         f"< {len(features)}")
    rows = np.random.default_rng([seed, len(features), size]).choice(len(features), size, replace=False)
    return from_features(features[np.sort(rows)], extractor, layer)


def jpeg_roundtrip(images: np.ndarray, quality: int) -> np.ndarray:
    """uint8 images [N, C, H, W] (C = 1 or 3) after saving as JPEG at `quality` and reading back (Pillow's encoder
    and defaults: 4:2:0 chroma subsampling for RGB)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality {quality!r}: allowed 1..100")
    out = np.empty_like(images)
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image[0] if len(image) == 1 else image.transpose(1, 2, 0)).save(buffer, "JPEG",
                                                                                       quality=quality)
        decoded = np.asarray(Image.open(buffer))
        out[i] = decoded[None] if decoded.ndim == 2 else decoded.transpose(2, 0, 1)
    return out
