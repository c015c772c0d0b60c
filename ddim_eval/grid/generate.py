"""Sampling one cell of the grid in deterministic shards.

A cell is (model, S, eta or sigma_hat, tau spacing). Shard k of a model's samples starts from x_T drawn on the CPU
from a seed that depends only on the model name and k, so every cell of a model starts from the same x_T (paired
comparisons across S and eta), on any device, with any batch size. The fresh noise of stochastic steps comes from
a per-batch generator on the sampling device (so, unlike x_T, it depends on device and batch size).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ddim_eval.data.images import check_finite, to_uint8
from ddim_eval.io import save_json, save_npz
from ddim_eval.metrics.extractors import Extractor
from ddim_eval.metrics.features import extract, save_feature_set
from ddim_eval.metrics.timing import timed_sample, timing_record
from ddim_eval.sampling.common import EpsModel
from ddim_eval.sampling.variants import Eta


def shard_seed(model: str, shard: int) -> int:
    """A 63-bit seed from (model, shard) alone, stable across Python runs and platforms."""
    if shard < 0:
        raise ValueError(f"shard index must be >= 0; got {shard}")
    digest = hashlib.sha256(f"ddim-eval/{model}/shard{shard}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def initial_noise(model: str, shard: int, n: int, shape: tuple[int, ...]) -> Tensor:
    """x_T of shard `shard`: n standard normal images of `shape`, float32, on the CPU."""
    gen = torch.Generator(device="cpu").manual_seed(shard_seed(model, shard))
    return torch.randn((n, *shape), generator=gen)


def sample_shard(eps_model: EpsModel, model: str, shard: int, n: int, shape: tuple[int, ...], timesteps: list[int],
                 eta: Eta, alphas_cumprod: np.ndarray, *, batch_size: int = 256, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32, progress: bool = True) -> Iterator[tuple[Tensor, float]]:
    """Yield (uint8 images, seconds) batch by batch for shard `shard` (n images); seconds is the batch's sampling
    wall time, synchronised with the device. Raises FloatingPointError on the first batch with NaN/inf."""
    if n < 1 or batch_size < 1:
        raise ValueError(f"n and batch_size must be positive integers; got n={n}, batch_size={batch_size}")
    device = torch.device(device)
    x_T = initial_noise(model, shard, n, shape)
    seed = shard_seed(model, shard)
    with tqdm(total=n, desc=f"{model} shard {shard} S={len(timesteps)} eta={eta}", unit="img",
              disable=not progress) as bar:
        for b, start in enumerate(range(0, n, batch_size)):
            gen = torch.Generator(device=device).manual_seed((seed + 1 + b) % 2**63)
            x0, seconds = timed_sample(eps_model, x_T[start:start + batch_size].to(device, dtype), timesteps, eta,
                                       alphas_cumprod=alphas_cumprod, generator=gen)
            check_finite(x0, f"samples of {model} shard {shard}, images {start}..{start + len(x0) - 1}")
            bar.update(len(x0))
            yield to_uint8(x0).cpu(), seconds


def generate_cell(eps_model: EpsModel, model: str, out_dir: str | os.PathLike, *, shape: tuple[int, ...],
                  timesteps: list[int], eta: Eta, alphas_cumprod: np.ndarray, n: int, shard: int,
                  extractor: Extractor, batch_size: int = 256, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32, keep_samples: bool = False, progress: bool = True,
                  describe: dict | None = None) -> dict:
    """Sample shard `shard` (n images) of one cell and write, each atomically, into `out_dir`:
    features.npz, stats.npz, timing.json (plus samples.npz, uint8 NCHW, with keep_samples).
    Timing excludes the first batch (warm-up) when there is more than one. Returns the timing record."""
    out_dir = Path(out_dir)
    images, seconds = [], []

    def sampled_batches() -> Iterator[Tensor]:
        for batch, secs in sample_shard(eps_model, model, shard, n, shape, timesteps, eta, alphas_cumprod,
                                        batch_size=batch_size, device=device, dtype=dtype, progress=progress):
            seconds.append(secs)
            if keep_samples:
                images.append(batch.numpy())
            yield batch

    features, stats = extract(extractor, sampled_batches(), progress=False)
    timed = seconds[1:] if len(seconds) > 1 else seconds
    timed_images = n - min(batch_size, n) if len(seconds) > 1 else n
    record = (describe or {}) | timing_record(sum(timed), timed_images, timesteps, batch_size, device, dtype)
    save_feature_set(out_dir, features, stats)
    if keep_samples:
        save_npz(out_dir / "samples.npz", images=np.concatenate(images))
    save_json(out_dir / "timing.json", record)
    return record
