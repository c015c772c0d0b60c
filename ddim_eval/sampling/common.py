"""The math every sampler shares: the eps-model interface and its call, the x0 prediction, the exponential
integrators' phi functions and the multistep solvers' warm-up orders.

Samplers take `eps_model(x: Tensor[N, ...], t: Tensor[N]) -> Tensor` and a `ddim_eval.sampling.times.TimeGrid`.
Coefficients are float64 Python numbers computed on the host from the grid's nodes, and every argument is checked
before the first network call, so bad input fails before any work and sampling loops issue no host syncs or
copies; tensors stay in x's dtype and device.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

EpsModel = Callable[[Tensor, Tensor], Tensor]


def check_x(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() < 2:
        raise ValueError(f"{name} must be a floating-point tensor [N, ...], got {type(x).__name__} "
                         f"{getattr(x, 'dtype', '')} {tuple(getattr(x, 'shape', ()))}")


def eval_eps(eps_model: EpsModel, x: Tensor, t: float) -> Tensor:
    """eps_model at network time t for the whole batch, t passed as float64 (the U-Net's time embedding takes any
    real t, and an integer t gives the embedding of its timestep), its output shape checked."""
    eps = eps_model(x, torch.full((x.shape[0],), float(t), dtype=torch.float64, device=x.device))
    if eps.shape != x.shape:
        raise ValueError(f"eps_model returned shape {tuple(eps.shape)} for input shape {tuple(x.shape)} at t={t}")
    return eps


def predict_x0(x: Tensor, eps: Tensor, alpha: float, sigma: float) -> Tensor:
    """The data prediction x0_hat = (x_t - sigma eps) / alpha of x_t = alpha x_0 + sigma eps."""
    return (x - sigma * eps) / alpha


def phis(z: float, count: int) -> list[float]:
    """[g_1, ..., g_count] with g_1 = e^z - 1 and g_{k+1} = g_k / z - 1/k!: z^k phi_k(z), the weights with which an
    exponential integrator takes the k-th Taylor term over a step (z = h for noise prediction, -h for data)."""
    g = [math.expm1(z)]
    for k in range(1, count):
        g.append(g[-1] / z - 1.0 / math.factorial(k))
    return g


def multistep_orders(steps: int, order: int, lower_order_final: bool) -> list[int]:
    """Each step's order in a multistep solver: the warm-up min(order, i + 1) (step i has i + 1 earlier values),
    and with lower_order_final min(order, steps - i) (the last steps end ..., 2, 1)."""
    return [min(order, i + 1, steps - i if lower_order_final else order) for i in range(steps)]
