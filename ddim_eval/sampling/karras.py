"""Euler and Heun in sigma space: Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative
Models", Algorithm 1, deterministic (S_churn = 0).

The VP state x_t = alpha x_0 + sigma eps is rescaled to the VE variable x_ve = x_t / alpha, whose noise level is
s = sigma / alpha, and the probability-flow ODE becomes dx_ve / ds = eps(alpha x_ve, t(s)) (Karras et al.'s eq. 1
with their sigma(t) = t and no scaling; the network is fed the VP state at the node's time). One Euler step in s
is exactly DDIM's eq. 12 at eta = 0; Heun adds the trapezoidal correction with a second evaluation at the step's
end. As in Algorithm 1 (and k-diffusion's `sample_heun`), a step into s = 0 stays an Euler step: the network
cannot be evaluated at the clean data (t = NaN there), and the Euler step into s = 0 returns the data prediction
x_ve - s eps. So Heun over S steps of a grid that ends at the clean data costs 2 S - 1 evaluations (the registry's
`_heun`); over a grid that ends at s > 0 (a continuous grid, t = 0) every step is a Heun step.

Grids: any `TimeGrid`; the registry walks the `karras` grid (rho = 7 between the schedule's largest and smallest
s, then s = 0). x_T is the VP state at node 0 (standard normal); the result is the VP state at the last node.
Coefficients are float64 Python floats from the host grid; tensors stay in x_T's dtype and device.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ddim_eval.sampling.common import EpsModel, check_x, eval_eps
from ddim_eval.sampling.times import Node, TimeGrid, nodes


def _noise_level(n: Node) -> float:
    """s = sigma / alpha (0 at the clean data)."""
    return n.sigma / n.alpha


def _eps(eps_model: EpsModel, x_ve: Tensor, n: Node) -> Tensor:
    # The network was trained on the VP state, so x_ve goes back to it (k-diffusion's c_in = 1/sqrt(1 + s^2)).
    return eval_eps(eps_model, x_ve * n.alpha, n.t)


def _check(x_T: Tensor, grid: TimeGrid) -> list[Node]:
    check_x(x_T, "x_T")
    if grid.steps < 1:
        raise ValueError(f"the grid has {grid.steps} steps; need at least one")
    return nodes(grid)


@torch.no_grad()
def euler(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *, generator: torch.Generator | None = None) -> Tensor:
    """Euler's method in s over `grid`: one evaluation per step (`generator` unused: deterministic)."""
    ns = _check(x_T, grid)
    x = x_T / ns[0].alpha
    for n, n_next in zip(ns, ns[1:]):
        # Euler step.
        x = x + (_noise_level(n_next) - _noise_level(n)) * _eps(eps_model, x, n)
    return x * ns[-1].alpha


@torch.no_grad()
def heun(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *, generator: torch.Generator | None = None) -> Tensor:
    """Heun's method in s over `grid` (Karras et al.'s Algorithm 1): two evaluations per step, one for a step into
    s = 0 (`generator` unused: deterministic)."""
    ns = _check(x_T, grid)
    x = x_T / ns[0].alpha
    for n, n_next in zip(ns, ns[1:]):
        h = _noise_level(n_next) - _noise_level(n)
        d = _eps(eps_model, x, n)
        # Euler step.
        x_euler = x + h * d
        if n_next.is_data:
            x = x_euler
        else:
            # Heun's correction: the trapezoid of the slopes at both ends.
            x = x + (0.5 * h) * (d + _eps(eps_model, x_euler, n_next))
    return x * ns[-1].alpha
