"""The DDIM family over a discrete `TimeGrid` (integer timesteps, then the clean data): the paper's eq. 12 at any
eta with its sigma(eta) of eq. 16 (planned by the torch-free `ddim_steps`), the official sigma-hat update of
Table 1, DDIM inversion (`encode`) and the spherical interpolation of latents (`slerp`).

The steps read the paper's alpha_t (the schedule's cumulative product, exact at each integer timestep; 1 at the
clean data) rather than the grid's alpha = sqrt(alpha_t), so that they are the official code's arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from ddim_eval.sampling.common import EpsModel, check_x, eval_eps, predict_x0
from ddim_eval.sampling.ddim_steps import Eta, check_eta, generative_steps, paper_alphas
from ddim_eval.sampling.samplers import SIGMA_HAT
from ddim_eval.sampling.times import TimeGrid

ENCODE_LABELS = ("current", "next")


def ddim_step(x: Tensor, eps: Tensor, a: float, a_next: float, sigma: float = 0.0) -> tuple[Tensor, Tensor]:
    """Paper eq. 12 from alpha a to alpha a_next, before its noise term sigma z; returns (x_next, x0_hat).
    Runs either direction (a_next > a denoises, a_next < a is the inversion step)."""
    x0 = predict_x0(x, eps, math.sqrt(a), math.sqrt(1.0 - a))
    return math.sqrt(a_next) * x0 + math.sqrt(max(1.0 - a_next - sigma**2, 0.0)) * eps, x0


def sigma_hat_step(x: Tensor, eps: Tensor, a: float, a_next: float) -> tuple[Tensor, Tensor]:
    """The official `ddpm_noisy` step before its noise term: clamped x0_hat and the DDPM posterior mean between
    a and a_next (its noise std is `ddim_steps.sigma_hat(a, a_next)`); returns (mean, x0_hat)."""
    beta = 1.0 - a / a_next
    x0 = predict_x0(x, eps, math.sqrt(a), math.sqrt(1.0 - a)).clamp(-1.0, 1.0)
    return (math.sqrt(a_next) * beta / (1.0 - a)) * x0 + (math.sqrt(1.0 - beta) * (1.0 - a_next) / (1.0 - a)) * x, x0


class Trajectory(NamedTuple):
    """What `sample(..., return_trajectory=True)` returns beside x_0."""

    xs: list[Tensor]  # x at every node: x_{tau_S}, ..., x_{tau_1}, x_0 (grid.steps + 1 entries)
    x0_preds: list[Tensor]  # the predicted x_0 of every step, in step order (grid.steps entries)


def _check_noise(noise: Sequence[Tensor], steps: int, x_T: Tensor) -> None:
    if len(noise) != steps:
        raise ValueError(f"noise has {len(noise)} tensors; need one per step ({steps})")
    for i, z in enumerate(noise):
        if z.shape != x_T.shape or z.device != x_T.device:
            raise ValueError(f"noise[{i}] has shape {tuple(z.shape)} on {z.device}; need x_T's shape "
                             f"{tuple(x_T.shape)} on {x_T.device}")


@torch.no_grad()
def sample(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, eta: Eta = 0.0, *,
           generator: torch.Generator | None = None, noise: Sequence[Tensor] | None = None,
           return_trajectory: bool = False) -> Tensor | tuple[Tensor, Trajectory]:
    """Generate x_0 from x_T at the top of a discrete `grid` (`times.discrete_grid`), one network call per step.

    eta: a float >= 0 for paper eq. 12 with sigma(eta) (0 = DDIM, 1 = DDPM-like), or "sigma_hat" for the
    official ddpm_noisy update. The last step goes to the clean data and adds no noise.
    noise: per-step noise tensors in step order, one per step (entries of steps that add no noise are unused);
    it overrides `generator`. return_trajectory: also return a `Trajectory` (kept only when asked).
    """
    check_x(x_T, "x_T")
    steps = generative_steps(grid, check_eta(eta))
    if noise is not None:
        _check_noise(noise, len(steps), x_T)
    x = x_T
    trajectory = Trajectory([x], []) if return_trajectory else None
    for i, step in enumerate(steps):
        eps = eval_eps(eps_model, x, step.t)
        if eta == SIGMA_HAT:
            x, x0 = sigma_hat_step(x, eps, step.a, step.a_next)
        else:
            x, x0 = ddim_step(x, eps, step.a, step.a_next, step.sigma)
        if step.sigma > 0:
            z = noise[i] if noise is not None else torch.randn(
                x.shape, generator=generator, device=x.device, dtype=x.dtype)
            x = x + step.sigma * z
        if trajectory is not None:
            trajectory.xs.append(x)
            trajectory.x0_preds.append(x0)
    return (x, trajectory) if trajectory is not None else x


def ddim_sampler(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *, generator: torch.Generator | None = None,
                 eta: float = 0.0) -> Tensor:
    """`sample` at `eta`: the registry's "ddim"."""
    return sample(eps_model, x_T, grid, eta, generator=generator)


def sigma_hat_sampler(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *,
                      generator: torch.Generator | None = None) -> Tensor:
    """`sample` with the official sigma_hat update: the registry's "sigma_hat"."""
    return sample(eps_model, x_T, grid, SIGMA_HAT, generator=generator)


@torch.no_grad()
def encode(eps_model: EpsModel, x_0: Tensor, grid: TimeGrid, *, eps_at: str = "current") -> Tensor:
    """DDIM inversion: the eta = 0 update run upwards over a discrete `grid`, from the clean data at x_0 to the
    grid's first node.

    eps_at: which timestep the network sees on the step t -> t' (t < t'). "current" evaluates eps(x_t, t), the
    explicit Euler step of the reversed probability-flow ODE (paper eq. 14); the first step, from the data
    (which has no timestep), uses the lowest timestep. "next" evaluates eps(x_t, t'), the convention of diffusers'
    DDIMInverseScheduler and of null-text inversion. The paper does not say which it used for Table 2.
    Decoding the result with `sample(..., eta=0)` over the same grid reconstructs x_0.
    """
    check_x(x_0, "x_0")
    if eps_at not in ENCODE_LABELS:
        raise ValueError(f"eps_at must be one of {ENCODE_LABELS}, got {eps_at!r}")
    ts, a = paper_alphas(grid)
    ts, a = ts[::-1], a[::-1]  # upwards: a[0] = 1 (the data), a[i + 1] at ts[i]
    x = x_0
    for i, t in enumerate(ts):
        label = ts[max(i - 1, 0)] if eps_at == "current" else t
        x, _ = ddim_step(x, eval_eps(eps_model, x, label), a[i], a[i + 1])
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
