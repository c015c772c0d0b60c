"""DPM-Solver (Lu et al., NeurIPS 2022) and DPM-Solver++ (Lu et al. 2022, arXiv:2211.01095): exponential integrators
of the diffusion ODE in the half log-SNR lambda = log(alpha / sigma), integrating the noise prediction (DPM-Solver)
or the data prediction (DPM-Solver++) with its Taylor expansion in lambda.

The convention is the authors' (LuChengTHU/dpm-solver, dpm_solver_pytorch.py) for discrete-time models:
- The grid is `ddim_eval.sampling.times.continuous_grid` (piecewise-linear log alpha, network time (tau - 1/N) N,
  from tau = 1 to tau = 1/N, i.e. ending at network time 0, not at the clean data).
- Singlestep `dpm_solver` (solver_type 'dpmsolver'): step k has order orders[k]; DPM-Solver-2 puts its intermediate
  node at lambda_s + h/2, DPM-Solver-3 at lambda_s + h/3 and lambda_s + 2h/3, each found by `times.time_of_lambda`,
  and takes its second intermediate value by the phi_2 form (the authors' x_s2). This is the authors' placement for
  the logSNR spacing. A grid of sum(orders) steps instead takes the intermediate nodes at its own nodes, r from their
  lambdas: the authors' placement for time_uniform and time_quadratic (all their evaluations lie on the NFE-step
  grid), and diffusers' for any spacing. (The registry plans the grid the authors would: len(orders) steps for
  logSNR, sum(orders) for the time spacings.)
- Multistep `dpm_solver_pp` (2M, 3M; order 1 is DDIM): the first steps warm up with orders 1, 2; with
  `lower_order_final`, a grid of fewer than 10 steps ends with orders ..., 2, 1 (the authors' `steps < 10`; their
  docstring and diffusers say 15). `dpm_solver_multistep` is the same update for either prediction.
- A step into the clean data (sigma = 0, lambda = +inf) returns the data prediction: the first-order step's limit
  as lambda_t -> inf (the authors' `denoise_to_zero_fn`, diffusers' last step with final_sigmas_type="zero"); a
  singlestep step into it evaluates once, whatever its order.

diffusers' DPMSolver{Multistep,Singlestep}Scheduler differ (tests/sampling/test_dpm_solver.py shows each): integer
timesteps ("linspace": our time_uniform times rounded); the last node is the clean data by default ("zero"), t = 0
with "sigma_min"; lower_order_final below 15 steps, and the last step always first order with "zero" or
euler_at_final; singlestep intermediate nodes on the grid, per-step orders as [1, 2, 3, ...] blocks of its order
list, which with lower_order_final ends an even order-2 budget with [..., 1, 1] and without it a budget of
order 3 divisible by 3 with a third-order step (the authors: (..., 2) and (..., 2, 1)); its third-order singlestep
takes x_s2 by the second-order midpoint step (solver_type "heun" gives the authors' x_s2 but a Taylor third-order
update). With those aligned, the samplers agree to float64 rounding (multistep: diffusers' float32 cast of x).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ddim_eval.sampling.common import EpsModel, check_x, eval_eps_at, multistep_orders
from ddim_eval.sampling.times import TimeGrid, coefficients, time_of_lambda

LOWER_ORDER_FINAL_STEPS = 10  # the authors' `if lower_order_final and steps < 10`
INNER_R = {1: (), 2: (0.5,), 3: (1.0 / 3.0, 2.0 / 3.0)}  # the authors' r1 (and r2) of the singlestep solvers


class _Node(NamedTuple):
    t: float  # network time (NaN at the clean data)
    alpha: float
    sigma: float
    lam: float  # half log-SNR, +inf at the clean data


def _nodes(grid: TimeGrid) -> list[_Node]:
    lams = grid.lambdas
    if not (np.diff(lams) > 0).all():  # h = 0 has no step ratio r, and the solvers divide by it
        raise ValueError(f"DPM-Solver needs nodes of strictly increasing log-SNR; got network times {grid.t.tolist()}")
    return [_Node(float(grid.t[i]), float(grid.alpha[i]), float(grid.sigma[i]), float(lams[i]))
            for i in range(len(grid.t))]


def _node_at(alphas_cumprod: np.ndarray, lam: float) -> _Node:
    # As the authors: the time by inverting lambda, alpha and sigma re-evaluated there, r kept exact.
    t = float(time_of_lambda(alphas_cumprod, lam))
    alpha, sigma = coefficients(alphas_cumprod, t)
    return _Node(t, float(alpha), float(sigma), lam)


def _phis(s: _Node, t: _Node, data: bool) -> tuple[float, float, float, float, float]:
    """(c, m, g1, g2, g3) with x_t = c x_s - m (g1 D0 + g2 D1 + g3 D2), D0 the prediction at s and D1, D2 its
    first and second lambda-differences scaled by h = lambda_t - lambda_s. Data prediction: c = sigma_t / sigma_s,
    m = alpha_t, the g's of -h; noise prediction: c = alpha_t / alpha_s, m = sigma_t, the g's of +h. g1 = e^x - 1,
    g2 = g1 / x - 1, g3 = g2 / x - 1/2: the authors' phi_1, phi_2, phi_3 up to the sign they carry for -h."""
    h = t.lam - s.lam
    c, m, x = (t.sigma / s.sigma, t.alpha, -h) if data else (t.alpha / s.alpha, t.sigma, h)
    g1 = math.expm1(x)
    g2 = g1 / x - 1.0
    return c, m, g1, g2, g2 / x - 0.5


def _x0(x: Tensor, eps: Tensor, s: _Node) -> Tensor:
    return (x - s.sigma * eps) / s.alpha


def _check_order(order: int, name: str = "order") -> None:
    if isinstance(order, bool) or order not in (1, 2, 3):
        raise ValueError(f"{name} must be 1, 2 or 3, got {order!r}")


# --- singlestep DPM-Solver (noise prediction)


def _singlestep_nodes(grid: TimeGrid, orders: tuple[int, ...]) -> list[tuple[_Node, _Node, list[_Node]]]:
    """(s, t, intermediate nodes) per step: at lambda_s + r h on a grid of len(orders) steps, at the grid's own
    nodes on one of sum(orders) steps; none for a step into the clean data (first order there)."""
    nodes = _nodes(grid)
    if grid.steps == sum(orders):
        cuts = np.cumsum([0, *orders])
        return [(nodes[a], nodes[b], nodes[a + 1:b] if nodes[b].sigma > 0 else []) for a, b in zip(cuts, cuts[1:])]
    if grid.steps != len(orders):
        raise ValueError(f"orders {list(orders)} need a grid of {len(orders)} steps (intermediate nodes at r h) or "
                         f"{sum(orders)} (intermediate nodes on the grid); got {grid.steps}")
    steps = []
    for k, o in enumerate(orders):
        s, t = nodes[k], nodes[k + 1]
        inner = [_node_at(grid.alphas_cumprod, s.lam + r * (t.lam - s.lam)) for r in INNER_R[o]] if t.sigma > 0 else []
        steps.append((s, t, inner))
    return steps


def _singlestep(eps_model: EpsModel, x: Tensor, s: _Node, t: _Node, inner: list[_Node]) -> Tensor:
    """One DPM-Solver-(1 + len(inner)) step from s to t, solver_type 'dpmsolver'."""
    eps_s = eval_eps_at(eps_model, x, s.t)
    if t.sigma == 0:
        return _x0(x, eps_s, s)
    c, m, g1, g2, _ = _phis(s, t, data=False)
    if not inner:
        return c * x - (m * g1) * eps_s
    h = t.lam - s.lam
    c1, m1, g1_1, _, _ = _phis(s, inner[0], data=False)
    eps_1 = eval_eps_at(eps_model, c1 * x - (m1 * g1_1) * eps_s, inner[0].t)
    r1 = (inner[0].lam - s.lam) / h
    if len(inner) == 1:
        return c * x - (m * g1) * eps_s - (0.5 / r1 * m * g1) * (eps_1 - eps_s)
    r2 = (inner[1].lam - s.lam) / h
    c2, m2, g1_2, g2_2, _ = _phis(s, inner[1], data=False)
    x2 = c2 * x - (m2 * g1_2) * eps_s - (r2 / r1 * m2 * g2_2) * (eps_1 - eps_s)
    eps_2 = eval_eps_at(eps_model, x2, inner[1].t)
    return c * x - (m * g1) * eps_s - (m * g2 / r2) * (eps_2 - eps_s)


@torch.no_grad()
def dpm_solver(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *, generator: torch.Generator | None = None,
               orders: tuple[int, ...] | list[int]) -> Tensor:
    """Singlestep DPM-Solver with noise prediction: step k of order orders[k] (the registry's "fast" schedule
    spends an NFE budget exactly), sum(orders) evaluations. `grid` has len(orders) steps (intermediate nodes at
    lambda_s + r h, the authors' logSNR convention) or sum(orders) steps (intermediate nodes on the grid).
    Deterministic: `generator` is unused."""
    check_x(x_T, "x_T")
    orders = tuple(orders)
    if not orders:
        raise ValueError("orders is empty; need at least one step")
    for o in orders:
        _check_order(o, "every entry of orders")
    x = x_T
    for s, t, inner in _singlestep_nodes(grid, orders):
        x = _singlestep(eps_model, x, s, t, inner)
    return x


# --- multistep DPM-Solver / DPM-Solver++


def _multistep_update(x: Tensor, history: list[tuple[_Node, Tensor]], t: _Node, data: bool) -> Tensor:
    """The multistep step from history[-1]'s node to t of order len(history) (solver_type 'dpmsolver')."""
    s, m0 = history[-1]
    c, m, g1, g2, g3 = _phis(s, t, data)
    x_t = c * x - (m * g1) * m0
    if len(history) == 1:
        return x_t
    h = t.lam - s.lam
    s1, m1 = history[-2]
    r0 = (s.lam - s1.lam) / h
    d1_0 = (m0 - m1) / r0
    if len(history) == 2:
        return x_t - (0.5 * m * g1) * d1_0
    s2, m2 = history[-3]
    r1 = (s1.lam - s2.lam) / h
    d1_1 = (m1 - m2) / r1
    d1 = d1_0 + (r0 / (r0 + r1)) * (d1_0 - d1_1)
    d2 = (d1_0 - d1_1) / (r0 + r1)
    return x_t - (m * g2) * d1 - (m * g3) * d2


@torch.no_grad()
def dpm_solver_multistep(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *, order: int, lower_order_final: bool,
                         prediction: str = "data") -> Tensor:
    """Multistep DPM-Solver of `order` over `grid`, one evaluation per step: with the data prediction
    ("data": DPM-Solver++(2M/3M)) or the noise prediction ("noise": multistep DPM-Solver)."""
    check_x(x_T, "x_T")
    _check_order(order)
    if prediction not in ("data", "noise"):
        raise ValueError(f"prediction must be 'data' or 'noise', got {prediction!r}")
    nodes, data = _nodes(grid), prediction == "data"
    # The authors' lower_order_final applies only below 10 steps (key, they find, to stability at very few steps).
    orders = multistep_orders(grid.steps, order, lower_order_final and grid.steps < LOWER_ORDER_FINAL_STEPS)
    x, history = x_T, []
    for i in range(grid.steps):
        eps = eval_eps_at(eps_model, x, nodes[i].t)
        if nodes[i + 1].sigma == 0:
            x = _x0(x, eps, nodes[i])
            continue
        history = [*history, (nodes[i], _x0(x, eps, nodes[i]) if data else eps)][-order:]
        x = _multistep_update(x, history[-orders[i]:], nodes[i + 1], data)
    return x


def dpm_solver_pp(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *, generator: torch.Generator | None = None,
                  order: int = 2, lower_order_final: bool = True) -> Tensor:
    """DPM-Solver++ (multistep, data prediction) of `order` over `grid`: the registry's "dpm_solver_pp".
    Deterministic: `generator` is unused."""
    return dpm_solver_multistep(eps_model, x_T, grid, order=order, lower_order_final=lower_order_final,
                                prediction="data")
