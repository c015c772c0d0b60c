"""What every sampler shares: the eps-model interface, alpha lookup, argument checks and the x0 prediction.

Samplers take `eps_model(x: Tensor[N, ...], t: LongTensor[N]) -> Tensor` and ascending 0-based `timesteps`
(see `ddim_eval.sampling.schedule.timesteps`). Coefficients are float64 Python numbers computed on the host, and
every argument is checked before the first network call, so bad input fails before any work and sampling loops
issue no host syncs or copies; tensors stay in x's dtype and device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from ddim_eval.sampling.schedule import make_alphas_cumprod

EpsModel = Callable[[Tensor, Tensor], Tensor]


def alpha_at(alphas: np.ndarray, t: int) -> float:
    """alpha_t; t = -1 stands for the clean data, alpha = 1 (the official `compute_alpha` pads the front with
    beta = 0)."""
    return 1.0 if t < 0 else float(alphas[t])


def as_alphas(alphas_cumprod: np.ndarray | Sequence[float] | None) -> np.ndarray:
    """The given alpha_t as float64, or the default schedule's (linear betas, T = 1000)."""
    return make_alphas_cumprod() if alphas_cumprod is None else np.asarray(alphas_cumprod, dtype=np.float64)


def check_timesteps(timesteps: Sequence[int], T: int) -> list[int]:
    """`timesteps` as a list of ints, or ValueError unless they are integers, ascending, in [0, T - 1]."""
    ts = [int(t) for t in timesteps]
    if not ts:
        raise ValueError("timesteps is empty; need at least one step")
    if any(t != orig for t, orig in zip(ts, timesteps)):
        raise ValueError(f"timesteps must be integers, got {list(timesteps)}")
    if ts[0] < 0 or ts[-1] >= T:
        raise ValueError(f"timesteps must lie in [0, {T - 1}] for this schedule (T = {T}), got {ts[0]}..{ts[-1]}")
    if any(b < a for a, b in zip(ts, ts[1:])):
        raise ValueError(f"timesteps must be ascending (as `ddim_eval.sampling.timesteps` returns them), got {ts}")
    return ts


def check_x(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() < 2:
        raise ValueError(f"{name} must be a floating-point tensor [N, ...], got {type(x).__name__} "
                         f"{getattr(x, 'dtype', '')} {tuple(getattr(x, 'shape', ()))}")


def eval_eps(eps_model: EpsModel, x: Tensor, t: int) -> Tensor:
    """eps_model at timestep t for the whole batch, its output shape checked."""
    eps = eps_model(x, torch.full((x.shape[0],), t, dtype=torch.long, device=x.device))
    if eps.shape != x.shape:
        raise ValueError(f"eps_model returned shape {tuple(eps.shape)} for input shape {tuple(x.shape)} at t={t}")
    return eps


def eval_eps_at(eps_model: EpsModel, x: Tensor, t: float) -> Tensor:
    """eps_model at a (possibly fractional) network time t for the whole batch, t passed as float64 (the U-Net's
    time embedding takes any real t; integer t gives the same embedding as a long tensor)."""
    eps = eps_model(x, torch.full((x.shape[0],), float(t), dtype=torch.float64, device=x.device))
    if eps.shape != x.shape:
        raise ValueError(f"eps_model returned shape {tuple(eps.shape)} for input shape {tuple(x.shape)} at t={t}")
    return eps


def multistep_orders(steps: int, order: int, lower_order_final: bool) -> list[int]:
    """Each step's order in a multistep solver: the warm-up min(order, i + 1) (step i has i + 1 earlier values),
    and with lower_order_final min(order, steps - i) (the last steps end ..., 2, 1)."""
    return [min(order, i + 1, steps - i if lower_order_final else order) for i in range(steps)]


def predict_x0(x: Tensor, eps: Tensor, a: float) -> Tensor:
    """x0_hat = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t)."""
    return (x - math.sqrt(1.0 - a) * eps) / math.sqrt(a)
