"""`sample`: x_T to x_0 over a tau sub-sequence, with the update of a variant: eq. 12 at any eta (`ddim`), or the
official sigma-hat update (`ddpm`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ddim_eval.sampling.common import EpsModel, alpha_at, as_alphas, check_timesteps, check_x, eval_eps
from ddim_eval.sampling.ddim import ddim_sigma, ddim_step
from ddim_eval.sampling.ddpm import sigma_hat, sigma_hat_step
from ddim_eval.sampling.times import TimeGrid, integer_timesteps
from ddim_eval.sampling.variants import SIGMA_HAT, Eta, check_eta


class Trajectory(NamedTuple):
    """What `sample(..., return_trajectory=True)` returns beside x_0."""

    xs: list[Tensor]  # x at every visited timestep: x_{tau_S}, ..., x_{tau_1}, x_0 (len(timesteps) + 1 entries)
    x0_preds: list[Tensor]  # the predicted x_0 of every step, in step order (len(timesteps) entries)


class _Step(NamedTuple):
    t: int  # timestep the network is evaluated at
    a: float  # alpha of the current x
    a_next: float  # alpha of the x this step produces
    sigma: float  # std of the fresh noise added (0: none drawn)


def _generative_steps(ts: list[int], alphas: np.ndarray, eta: Eta) -> list[_Step]:
    """Steps from the top of tau down to alpha = 1, with the noise std each one adds."""
    steps = []
    for i in reversed(range(len(ts))):
        t, t_next = ts[i], (ts[i - 1] if i > 0 else -1)
        a, a_next = alpha_at(alphas, t), alpha_at(alphas, t_next)
        if eta == SIGMA_HAT:
            # The official ddpm_noisy draws no noise where the current t is 0; with tau starting at 0 that is
            # exactly the last step (a duplicate 0 -> 0 step has std 0 anyway).
            sigma = sigma_hat(a, a_next) if t_next >= 0 else 0.0
        else:
            sigma = ddim_sigma(eta, a, a_next)
            if 1.0 - a_next - sigma**2 < -1e-12:
                raise ValueError(f"eta={eta} is too large for the step t={t} -> t'={t_next}: "
                                 f"sigma^2 = {sigma**2:.4g} exceeds 1 - alpha_t' = {1 - a_next:.4g}")
        steps.append(_Step(t, a, a_next, sigma))
    return steps


def _check_noise(noise: Sequence[Tensor], steps: int, x_T: Tensor) -> None:
    if len(noise) != steps:
        raise ValueError(f"noise has {len(noise)} tensors; need one per step ({steps})")
    for i, z in enumerate(noise):
        if z.shape != x_T.shape or z.device != x_T.device:
            raise ValueError(f"noise[{i}] has shape {tuple(z.shape)} on {z.device}; need x_T's shape "
                             f"{tuple(x_T.shape)} on {x_T.device}")


@torch.no_grad()
def sample(
    eps_model: EpsModel,
    x_T: Tensor,
    timesteps: Sequence[int],
    eta: Eta = 0.0,
    *,
    alphas_cumprod: np.ndarray | Sequence[float] | None = None,
    generator: torch.Generator | None = None,
    noise: Sequence[Tensor] | None = None,
    return_trajectory: bool = False,
) -> Tensor | tuple[Tensor, Trajectory]:
    """Generate x_0 from x_T = x at the top of `timesteps`, one network call per entry of `timesteps`.

    eta: a float >= 0 for paper eq. 12 with sigma(eta) (0 = DDIM, 1 = DDPM-like), or "sigma_hat" for the
    official ddpm_noisy update. The last step goes to alpha = 1 and adds no noise.
    noise: per-step noise tensors in step order, one per step (entries of steps that add no noise are unused);
    it overrides `generator`. alphas_cumprod: the paper's alpha_t (default: linear betas, T = 1000).
    return_trajectory: also return a `Trajectory` (kept only when asked).
    """
    check_x(x_T, "x_T")
    alphas = as_alphas(alphas_cumprod)
    ts = check_timesteps(timesteps, len(alphas))
    eta = check_eta(eta)
    steps = _generative_steps(ts, alphas, eta)
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
    """`sample` at `eta` over a discrete grid: the registry's "ddim"."""
    return sample(eps_model, x_T, integer_timesteps(grid), eta, alphas_cumprod=grid.alphas_cumprod,
                  generator=generator)


def sigma_hat_sampler(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *,
                      generator: torch.Generator | None = None) -> Tensor:
    """`sample` with the official sigma_hat update over a discrete grid: the registry's "sigma_hat"."""
    return sample(eps_model, x_T, integer_timesteps(grid), SIGMA_HAT, alphas_cumprod=grid.alphas_cumprod,
                  generator=generator)
