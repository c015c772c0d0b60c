"""The paper's qualitative figures as uint8 image arrays: samples per S and variant (Figure 3), one x_T decoded
with several S (Figure 5, consistency), and slerp between two x_T (Figure 6, interpolation).

Every figure starts from shard 0's x_T (`ddim_eval.experiment.generate.initial_noise`), so its images are the first
images of the experiment's cells; deterministic variants (eta = 0) reproduce those samples exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ddim_eval.data.images import check_finite, to_uint8
from ddim_eval.experiment.generate import initial_noise, shard_seed
from ddim_eval.sampling.common import EpsModel
from ddim_eval.sampling.ddim import sample, slerp
from ddim_eval.sampling.ddim_steps import Eta
from ddim_eval.sampling.times import discrete_grid


def _decode(eps_model: EpsModel, x_T: torch.Tensor, steps: int, eta: Eta, spacing: str, alphas: np.ndarray,
            device: torch.device | str, seed: int, batch_size: int) -> np.ndarray:
    gen = torch.Generator(device=device).manual_seed(seed)
    grid = discrete_grid(alphas, steps, spacing)
    batches = []
    for chunk in x_T.split(batch_size):
        x0 = sample(eps_model, chunk.to(device), grid, eta, generator=gen)
        check_finite(x0, f"figure samples at S={steps}, eta={eta}")
        batches.append(to_uint8(x0).cpu().numpy())
    return np.concatenate(batches)


def sample_grid(eps_model: EpsModel, model: str, shape: tuple[int, ...], alphas: np.ndarray, *, spacing: str,
                steps: Sequence[int], variants: Sequence[Eta], n: int, device: torch.device | str = "cpu",
                batch_size: int = 256) -> np.ndarray:
    """uint8 [len(variants), len(steps), n, C, H, W]: the same n x_T decoded with each (variant, S)."""
    x_T = initial_noise(model, 0, n, shape)
    seed = shard_seed(model, 0)
    return np.stack([np.stack([_decode(eps_model, x_T, s, v, spacing, alphas, device, seed, batch_size)
                               for s in steps]) for v in variants])


def consistency(eps_model: EpsModel, model: str, shape: tuple[int, ...], alphas: np.ndarray, *, spacing: str,
                steps: Sequence[int], n: int, device: torch.device | str = "cpu",
                batch_size: int = 256) -> np.ndarray:
    """uint8 [n, len(steps), C, H, W]: row i is x_T number i decoded with eta = 0 at each S."""
    grid = sample_grid(eps_model, model, shape, alphas, spacing=spacing, steps=steps, variants=[0.0], n=n,
                       device=device, batch_size=batch_size)
    return grid[0].swapaxes(0, 1)


def interpolation(eps_model: EpsModel, model: str, shape: tuple[int, ...], alphas: np.ndarray, *, spacing: str,
                  steps: int, pairs: int, points: int, device: torch.device | str = "cpu",
                  batch_size: int = 256) -> np.ndarray:
    """uint8 [pairs, points, C, H, W]: row i decodes (eta = 0) slerp(x_T[2i], x_T[2i+1], a) for `points` values
    of a from 0 to 1, so each row's ends are two ordinary samples."""
    if points < 2:
        raise ValueError(f"interpolation needs at least 2 points (both ends); got {points}")
    x_T = initial_noise(model, 0, 2 * pairs, shape)
    a = torch.linspace(0, 1, points).view(-1, *[1] * len(shape))
    rows = [slerp(x_T[2 * i:2 * i + 1], x_T[2 * i + 1:2 * i + 2], a) for i in range(pairs)]
    decoded = _decode(eps_model, torch.cat(rows), steps, 0.0, spacing, alphas, device, 0, batch_size)
    return decoded.reshape(pairs, points, *decoded.shape[1:])
