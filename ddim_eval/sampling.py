"""The generalized DDIM sampler (paper eq. 12), the official sigma-hat sampler, DDIM inversion and slerp.

Every function takes `eps_model(x: Tensor[N, ...], t: LongTensor[N]) -> Tensor` and ascending 0-based
`timesteps` (see `ddim_eval.schedule.timesteps`). Coefficients are float64 Python numbers computed on the host,
and every argument is checked before the first network call, so bad input fails before any work and the loop
issues no host syncs or copies; tensors stay in x's dtype and device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ddim_eval.schedule import make_alphas_cumprod
from ddim_eval.variants import SIGMA_HAT, Eta, check_eta

EpsModel = Callable[[Tensor, Tensor], Tensor]


class Trajectory(NamedTuple):
    """What `sample(..., return_trajectory=True)` returns beside x_0."""

    xs: list[Tensor]  # x at every visited timestep: x_{tau_S}, ..., x_{tau_1}, x_0 (len(timesteps) + 1 entries)
    x0_preds: list[Tensor]  # the predicted x_0 of every step, in step order (len(timesteps) entries)


class _Step(NamedTuple):
    t: int  # timestep the network is evaluated at
    a: float  # alpha of the current x
    a_next: float  # alpha of the x this step produces
    sigma: float  # std of the fresh noise added (0: none drawn)


def _alpha(alphas: np.ndarray, t: int) -> float:
    # t = -1 stands for the clean data, alpha = 1 (the official `compute_alpha` pads the front with beta = 0).
    return 1.0 if t < 0 else float(alphas[t])


def ddim_sigma(eta: float, a: float, a_next: float) -> float:
    """Paper eq. 16: sigma_t(eta) = eta sqrt((1 - a_{t'}) / (1 - a_t)) sqrt(1 - a_t / a_{t'})."""
    return eta * math.sqrt((1.0 - a_next) / (1.0 - a)) * math.sqrt(1.0 - a / a_next)


def _check_timesteps(timesteps: Sequence[int], T: int) -> list[int]:
    ts = [int(t) for t in timesteps]
    if not ts:
        raise ValueError("timesteps is empty; need at least one step")
    if any(t != orig for t, orig in zip(ts, timesteps)):
        raise ValueError(f"timesteps must be integers, got {list(timesteps)}")
    if ts[0] < 0 or ts[-1] >= T:
        raise ValueError(f"timesteps must lie in [0, {T - 1}] for this schedule (T = {T}), got {ts[0]}..{ts[-1]}")
    if any(b < a for a, b in zip(ts, ts[1:])):
        raise ValueError(f"timesteps must be ascending (as `ddim_eval.schedule.timesteps` returns them), got {ts}")
    return ts


def _check_x(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() < 2:
        raise ValueError(f"{name} must be a floating-point tensor [N, ...], got {type(x).__name__} "
                         f"{getattr(x, 'dtype', '')} {tuple(getattr(x, 'shape', ()))}")


def _alphas(alphas_cumprod: np.ndarray | Sequence[float] | None) -> np.ndarray:
    return make_alphas_cumprod() if alphas_cumprod is None else np.asarray(alphas_cumprod, dtype=np.float64)


def _generative_steps(ts: list[int], alphas: np.ndarray, eta: Eta) -> list[_Step]:
    """Steps from the top of tau down to alpha = 1, with the noise std each one adds."""
    steps = []
    for i in reversed(range(len(ts))):
        t, t_next = ts[i], (ts[i - 1] if i > 0 else -1)
        a, a_next = _alpha(alphas, t), _alpha(alphas, t_next)
        if eta == SIGMA_HAT:
            # The official ddpm_noisy draws no noise where the current t is 0; with tau starting at 0 that is
            # exactly the last step (a duplicate 0 -> 0 step has std 0 anyway).
            sigma = math.sqrt(1.0 - a / a_next) if t_next >= 0 else 0.0
        else:
            sigma = ddim_sigma(eta, a, a_next)
            if 1.0 - a_next - sigma**2 < -1e-12:
                raise ValueError(f"eta={eta} is too large for the step t={t} -> t'={t_next}: "
                                 f"sigma^2 = {sigma**2:.4g} exceeds 1 - alpha_t' = {1 - a_next:.4g}")
        steps.append(_Step(t, a, a_next, sigma))
    return steps


def _eval_eps(eps_model: EpsModel, x: Tensor, t: int) -> Tensor:
    eps = eps_model(x, torch.full((x.shape[0],), t, dtype=torch.long, device=x.device))
    if eps.shape != x.shape:
        raise ValueError(f"eps_model returned shape {tuple(eps.shape)} for input shape {tuple(x.shape)} at t={t}")
    return eps


def predict_x0(x: Tensor, eps: Tensor, a: float) -> Tensor:
    """x0_hat = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t)."""
    return (x - math.sqrt(1.0 - a) * eps) / math.sqrt(a)


def ddim_step(x: Tensor, eps: Tensor, a: float, a_next: float, sigma: float = 0.0) -> tuple[Tensor, Tensor]:
    """Paper eq. 12 from alpha a to alpha a_next, before its noise term sigma z; returns (x_next, x0_hat).
    Runs either direction (a_next > a denoises, a_next < a is the inversion step)."""
    x0 = predict_x0(x, eps, a)
    return math.sqrt(a_next) * x0 + math.sqrt(max(1.0 - a_next - sigma**2, 0.0)) * eps, x0


def sigma_hat_step(x: Tensor, eps: Tensor, a: float, a_next: float) -> tuple[Tensor, Tensor]:
    """The official `ddpm_noisy` step before its noise term: clamped x0_hat and the DDPM posterior mean between
    a and a_next (its noise std, sqrt(1 - a / a_next), is Table 1's sigma-hat); returns (mean, x0_hat)."""
    beta = 1.0 - a / a_next
    x0 = predict_x0(x, eps, a).clamp(-1.0, 1.0)
    return (math.sqrt(a_next) * beta / (1.0 - a)) * x0 + (math.sqrt(1.0 - beta) * (1.0 - a_next) / (1.0 - a)) * x, x0


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
    _check_x(x_T, "x_T")
    alphas = _alphas(alphas_cumprod)
    ts = _check_timesteps(timesteps, len(alphas))
    eta = check_eta(eta)
    steps = _generative_steps(ts, alphas, eta)
    if noise is not None:
        if len(noise) != len(steps):
            raise ValueError(f"noise has {len(noise)} tensors; need one per step ({len(steps)})")
        for i, z in enumerate(noise):
            if z.shape != x_T.shape or z.device != x_T.device:
                raise ValueError(f"noise[{i}] has shape {tuple(z.shape)} on {z.device}; need x_T's shape "
                                 f"{tuple(x_T.shape)} on {x_T.device}")
    x = x_T
    trajectory = Trajectory([x], []) if return_trajectory else None
    for i, step in enumerate(steps):
        eps = _eval_eps(eps_model, x, step.t)
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
    _check_x(x_0, "x_0")
    if eps_at not in ENCODE_LABELS:
        raise ValueError(f"eps_at must be one of {ENCODE_LABELS}, got {eps_at!r}")
    alphas = _alphas(alphas_cumprod)
    ts = _check_timesteps(timesteps, len(alphas))
    x = x_0
    for t_prev, t in zip([-1] + ts[:-1], ts):
        label = max(t_prev, ts[0]) if eps_at == "current" else t
        x, _ = ddim_step(x, _eval_eps(eps_model, x, label), _alpha(alphas, t_prev), _alpha(alphas, t))
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
