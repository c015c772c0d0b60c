"""DDIM reconstruction error (the paper's Table 2): encode images to x_T with S steps, decode with S steps."""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from ddim_eval.data.images import check_finite, from_uint8
from ddim_eval.metrics.bootstrap import METHOD, interval, resample_counts
from ddim_eval.sampling.common import EpsModel
from ddim_eval.sampling.ddim import encode, sample
from ddim_eval.sampling.times import TimeGrid


def reconstruction_errors(eps_model: EpsModel, images: np.ndarray, grid: TimeGrid, *, eps_at: str = "current",
                          batch_size: int = 256, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                          progress: bool = True) -> np.ndarray:
    """Per-image MSE between uint8 `images` [N, C, H, W] and their eta = 0 round trip over the discrete `grid`, per
    dimension on the [0, 1] scale (the decoded image clamped to [0, 1], not quantised); float64 [N]."""
    if len(images) == 0:
        raise ValueError("no images to reconstruct (empty split)")
    errors = []
    with tqdm(total=len(images), desc=f"reconstruct S={grid.steps}", unit="img", disable=not progress) as bar:
        for start in range(0, len(images), batch_size):
            x0 = from_uint8(np.ascontiguousarray(images[start:start + batch_size])).to(device, dtype)
            x_T = encode(eps_model, x0, grid, eps_at=eps_at)
            decoded = sample(eps_model, x_T, grid, 0.0)
            check_finite(decoded, f"reconstructions of images {start}..{start + len(x0) - 1}")
            u, u_hat = (x0.double() + 1) / 2, ((decoded.double() + 1) / 2).clamp(0, 1)
            errors.append((u - u_hat).square().flatten(1).mean(1).cpu().numpy())
            bar.update(len(x0))
    return np.concatenate(errors)


def summarize(errors: np.ndarray, *, level: float = 0.95, n_boot: int = 200, seed: int = 0) -> dict[str, float]:
    """Mean per-dimension MSE over images, with its spread (std over images, standard error of the mean) and a
    bootstrap interval over the images (resampled with the same machinery as FID's)."""
    errors = np.asarray(errors, dtype=np.float64)
    std = float(errors.std(ddof=1)) if len(errors) > 1 else 0.0
    record = {"mse": float(errors.mean()), "std": std, "sem": float(std / np.sqrt(len(errors))), "n": len(errors)}
    if len(errors) > 1:
        # The same images at every S and the same counts: the replicates of two S subtract into a paired interval.
        replicates = resample_counts(len(errors), n_boot, seed) @ errors / len(errors)
        low, high = interval(record["mse"], replicates, level, floor=0.0)
        record |= {"mse_ci_low": low, "mse_ci_high": high, "ci_level": level, "n_boot": n_boot, "ci_method": METHOD,
                   "bootstrap_seed": seed, "replicates": {"mse": replicates.tolist()}}
    return record
