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
  docstring and diffusers say 15). `prediction="noise"` gives multistep DPM-Solver, the same update.
- The third-order multistep update: the authors' (and diffusers', and k-diffusion's dpmpp_3m_sde) weight the
  second difference D2, which estimates h^2 x0''/2, by phi_3 where the Taylor term needs 2 phi_3, so their 3M is
  second order (docs: "DPM-Solver++(3M)"). `third_order="authors"` (the default: what everyone runs) keeps it;
  `third_order="corrected"` weights D2 by 2 phi_3, a third-order method.
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

import torch
from torch import Tensor

from ddim_eval.sampling.common import EpsModel, check_x, eval_eps, multistep_orders, phis, predict_x0
from ddim_eval.sampling.times import Node, TimeGrid, node_at_lambda, nodes

LOWER_ORDER_FINAL_STEPS = 10  # the authors' `if lower_order_final and steps < 10`
INNER_R = {1: (), 2: (0.5,), 3: (1.0 / 3.0, 2.0 / 3.0)}  # the authors' r1 (and r2) of the singlestep solvers
THIRD_ORDER = ("authors", "corrected")  # the weight of D2 in the third-order multistep update: phi_3 or 2 phi_3
PREDICTIONS = ("data", "noise")


def _log_snr_nodes(grid: TimeGrid) -> list[Node]:
    ns = nodes(grid)
    if any(b.lam <= a.lam for a, b in zip(ns, ns[1:])):  # h = 0 has no step ratio r, and the solvers divide by it
        raise ValueError(f"DPM-Solver needs nodes of strictly increasing log-SNR; got network times {grid.t.tolist()}")
    return ns


def _phis(s: Node, t: Node, data: bool) -> tuple[float, float, float, float, float]:
    """(c, m, g1, g2, g3) with x_t = c x_s - m (g1 D0 + g2 D1 + g3 D2), D0 the prediction at s and D1, D2 its
    first and second lambda-differences scaled by h = lambda_t - lambda_s. Data prediction: c = sigma_t / sigma_s,
    m = alpha_t, the g's of -h; noise prediction: c = alpha_t / alpha_s, m = sigma_t, the g's of +h. The g's are
    the authors' phi_1, phi_2, phi_3 up to the sign they carry for -h."""
    h = t.lam - s.lam
    c, m, z = (t.sigma / s.sigma, t.alpha, -h) if data else (t.alpha / s.alpha, t.sigma, h)
    return c, m, *phis(z, 3)


def _check_order(order: int, name: str = "order") -> None:
    if isinstance(order, bool) or order not in (1, 2, 3):
        raise ValueError(f"{name} must be 1, 2 or 3, got {order!r}")


# --- multistep DPM-Solver++ / DPM-Solver


@torch.no_grad()
def dpm_solver_pp(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *, generator: torch.Generator | None = None,
                  order: int = 2, lower_order_final: bool = True, third_order: str = "authors",
                  prediction: str = "data") -> Tensor:
    """DPM-Solver++(2M/3M) over `grid`, one evaluation per step: the registry's "dpm_solver_pp". `third_order`:
    the authors' update or the corrected one (module docstring); prediction="noise" gives multistep DPM-Solver.
    Deterministic: `generator` is unused."""
    check_x(x_T, "x_T")
    _check_order(order)
    if third_order not in THIRD_ORDER or prediction not in PREDICTIONS:
        raise ValueError(f"third_order must be one of {THIRD_ORDER} and prediction one of {PREDICTIONS}; got "
                         f"{third_order!r}, {prediction!r}")
    ns, data = _log_snr_nodes(grid), prediction == "data"
    # The authors' lower_order_final applies only below 10 steps (key, they find, to stability at very few steps).
    orders = multistep_orders(grid.steps, order, lower_order_final and grid.steps < LOWER_ORDER_FINAL_STEPS)
    x, history = x_T, []  # (node, model output) of the last `order` nodes, oldest first
    for i, (s, t) in enumerate(zip(ns, ns[1:])):
        eps = eval_eps(eps_model, x, s.t)
        if t.is_data:
            # Into the clean data: the data prediction, the first-order step's limit as lambda_t -> inf.
            x = predict_x0(x, eps, s.alpha, s.sigma)
            continue
        history = [*history, (s, predict_x0(x, eps, s.alpha, s.sigma) if data else eps)][-order:]
        x = _multistep_update(x, history[-orders[i]:], t, data, third_order == "corrected")
    return x


def _multistep_update(x: Tensor, history: list[tuple[Node, Tensor]], t: Node, data: bool, corrected: bool) -> Tensor:
    """The multistep step from history[-1]'s node to t of order len(history) (solver_type 'dpmsolver')."""
    s, m0 = history[-1]
    c, m, g1, g2, g3 = _phis(s, t, data)
    # First order: DDIM.
    x_t = c * x - (m * g1) * m0
    if len(history) == 1:
        return x_t
    h = t.lam - s.lam
    s1, m1 = history[-2]
    r0 = (s.lam - s1.lam) / h
    d1_0 = (m0 - m1) / r0  # ~ h m'
    if len(history) == 2:
        return x_t - (0.5 * m * g1) * d1_0
    s2, m2 = history[-3]
    r1 = (s1.lam - s2.lam) / h
    d1_1 = (m1 - m2) / r1
    d1 = d1_0 + (r0 / (r0 + r1)) * (d1_0 - d1_1)  # ~ h m', second-order accurate
    d2 = (d1_0 - d1_1) / (r0 + r1)  # ~ h^2 m'' / 2
    # The Taylor term h^2 m'' / 2 integrates to 2 g3 d2; the authors weight d2 by g3.
    return x_t - (m * g2) * d1 - ((2.0 if corrected else 1.0) * m * g3) * d2


# --- singlestep DPM-Solver (noise prediction)


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


def _singlestep_nodes(grid: TimeGrid, orders: tuple[int, ...]) -> list[tuple[Node, Node, list[Node]]]:
    """(s, t, intermediate nodes) per step: at lambda_s + r h on a grid of len(orders) steps, at the grid's own
    nodes on one of sum(orders) steps; none for a step into the clean data (first order there)."""
    ns = _log_snr_nodes(grid)
    if grid.steps == sum(orders):
        cuts = [sum(orders[:k]) for k in range(len(orders) + 1)]
        return [(ns[a], ns[b], ns[a + 1:b] if not ns[b].is_data else []) for a, b in zip(cuts, cuts[1:])]
    if grid.steps != len(orders):
        raise ValueError(f"orders {list(orders)} need a grid of {len(orders)} steps (intermediate nodes at r h) or "
                         f"{sum(orders)} (intermediate nodes on the grid); got {grid.steps}")
    return [(s, t, [] if t.is_data else [node_at_lambda(grid.alphas_cumprod, s.lam + r * (t.lam - s.lam))
                                          for r in INNER_R[o]])
            for o, s, t in zip(orders, ns, ns[1:])]


def _singlestep(eps_model: EpsModel, x: Tensor, s: Node, t: Node, inner: list[Node]) -> Tensor:
    """One DPM-Solver-(1 + len(inner)) step from s to t, solver_type 'dpmsolver'."""
    eps_s = eval_eps(eps_model, x, s.t)
    if t.is_data:
        return predict_x0(x, eps_s, s.alpha, s.sigma)
    c, m, g1, g2, _ = _phis(s, t, data=False)
    if not inner:
        return c * x - (m * g1) * eps_s
    h = t.lam - s.lam
    c1, m1, g1_1, _, _ = _phis(s, inner[0], data=False)
    eps_1 = eval_eps(eps_model, c1 * x - (m1 * g1_1) * eps_s, inner[0].t)
    r1 = (inner[0].lam - s.lam) / h
    if len(inner) == 1:
        return c * x - (m * g1) * eps_s - (0.5 / r1 * m * g1) * (eps_1 - eps_s)
    r2 = (inner[1].lam - s.lam) / h
    c2, m2, g1_2, g2_2, _ = _phis(s, inner[1], data=False)
    x2 = c2 * x - (m2 * g1_2) * eps_s - (r2 / r1 * m2 * g2_2) * (eps_1 - eps_s)
    eps_2 = eval_eps(eps_model, x2, inner[1].t)
    return c * x - (m * g1) * eps_s - (m * g2 / r2) * (eps_2 - eps_s)
