"""The latent x_T: DDIM inversion (`encode`, images to x_T) and spherical interpolation between latents (`slerp`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from ddim_eval.sampling.common import EpsModel, alpha_at, as_alphas, check_timesteps, check_x, eval_eps
from ddim_eval.sampling.ddim import ddim_step

ENCODE_LABELS = ("current", "next")


@torch.no_grad()
def encode(
    eps_model: EpsModel,
    x_0: Tensor,
    timesteps: Sequence[int],
    *,
    alphas_cumprod: np.ndarray | Sequence[float] | None = None,
    eps_at: str = "current",
) -> Tensor:
    """DDIM inversion: the eta = 0 update run upwards, from alpha = 1 at x_0 to the top of `timesteps`.

    eps_at: which timestep the network sees on the step t -> t' (t < t'). "current" evaluates eps(x_t, t), the
    explicit Euler step of the reversed probability-flow ODE (paper eq. 14); the first step, from the data
    (which has no timestep), uses tau_1. "next" evaluates eps(x_t, t'), the convention of diffusers'
    DDIMInverseScheduler and of null-text inversion. The paper does not say which it used for Table 2.
    Decoding the result with `sample(..., eta=0)` over the same timesteps reconstructs x_0.
    """
    check_x(x_0, "x_0")
    if eps_at not in ENCODE_LABELS:
        raise ValueError(f"eps_at must be one of {ENCODE_LABELS}, got {eps_at!r}")
    alphas = as_alphas(alphas_cumprod)
    ts = check_timesteps(timesteps, len(alphas))
    x = x_0
    for t_prev, t in zip([-1] + ts[:-1], ts):
        label = max(t_prev, ts[0]) if eps_at == "current" else t
        x, _ = ddim_step(x, eval_eps(eps_model, x, label), alpha_at(alphas, t_prev), alpha_at(alphas, t))
    return x


def slerp(z1: Tensor, z2: Tensor, alpha: float | Tensor) -> Tensor:
    """Spherical interpolation as the paper's Figure 6 uses it, the angle taken over the whole tensor.

    alpha: a float, or a tensor broadcast against z1 (e.g. shape [K, 1, 1, 1] with z1 of shape [1, C, H, W]
    gives K interpolants).
    """
    if z1.shape != z2.shape:
        raise ValueError(f"slerp needs tensors of one shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    cos = (z1 * z2).sum() / (z1.norm() * z2.norm())
    theta = torch.acos(cos.clamp(-1.0, 1.0))
    alpha = torch.as_tensor(alpha, dtype=z1.dtype, device=z1.device)
    spherical = (torch.sin((1 - alpha) * theta) * z1 + torch.sin(alpha * theta) * z2) / torch.sin(theta)
    # Parallel inputs have no plane to rotate in: the limit of slerp there is linear interpolation.
    return torch.where(torch.sin(theta) > 1e-6, spherical, (1 - alpha) * z1 + alpha * z2)
