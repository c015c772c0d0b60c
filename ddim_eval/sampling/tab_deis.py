"""DEIS, the tAB variant (Zhang & Chen 2022, "Fast Sampling of Diffusion Models with Exponential Integrator").

The exponential integrator solves the linear part of the probability-flow ODE exactly: with rho = sigma / alpha,
    x_e = alpha_e (x_s / alpha_s + int_s^e eps(tau) drho(tau)).
tAB-DEIS replaces eps(tau) by the Lagrange polynomial through the last `order` eps (order 1 = DDIM), so a step is
    x_e = (alpha_e / alpha_s) x_s + sum_j C_j eps_{i-j},    C_j = alpha_e int_s^e l_j(v(tau)) drho(tau)
(the authors' integrand `psi(tau, t_e) * eps_integrand(tau)` of `th_deis`, `get_ab_eps_coef`).

Conventions, against the authors' code (qsh-zh/deis) and diffusers' DEISMultistepScheduler:
- The polynomial's variable v is the time t, as in the authors' tAB; any affine map of t (the network time 0..T-1,
  the continuous tau = (t + 1) / N, the authors' integer t) gives the same polynomial. diffusers (solver_type
  "logrho") takes v = log rho; `_tab_coefficients(..., variable="logrho")` computes that variant for the tests.
- `order` counts the eps the polynomial runs through, as diffusers' `solver_order`; the authors' `ab_order` and the
  paper's tAB-r count its degree, order - 1 (the paper's tAB3 is order 4 here).
- The weights are integrated in float64 on the host by Gauss-Legendre quadrature on each unit interval of t, where
  log alpha is linear (the continuous grids' interpolation) and the integrand smooth, so they are exact to
  rounding. The authors sum 10,000 left Riemann points per step (and interpolate alpha_bar itself linearly between
  a discrete model's timesteps); diffusers has the log-rho integrals in closed form.
- Warm-up: step i uses min(order, i + 1) eps, as both references do. lower_order_final: the last steps use at most
  as many eps as steps remain (the last step first order, the one before at most second), at any number of steps;
  diffusers lowers only below 15 steps, the authors never.
- A grid ends at t = 0 (continuous grids; diffusers' last sigma is that of t = 0 too) or at the clean data
  (sigma = 0, t = NaN, log rho = -inf: no polynomial there). The step into the clean data is first order, DDIM's
  step to alpha = 1, which returns the data prediction (the rule of diffusers' multistep solvers with a zero final
  sigma).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ddim_eval.sampling.common import EpsModel, eval_eps, multistep_orders
from ddim_eval.sampling.times import TimeGrid, coefficients

GAUSS_NODES = 16  # per unit interval of t: the nearest singularity of the integrand is >= 0.8 away, error ~1e-15
GAUSS = np.polynomial.legendre.leggauss(GAUSS_NODES)
VARIABLES = ("t", "logrho")

Weights = list[tuple[float, list[float]]]  # per step: (alpha_e / alpha_s, [C_0, C_1, ...]), C_j weighs eps_{i-j}


def _check(grid: TimeGrid, order: int) -> None:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}")
    t, sigma = np.asarray(grid.t), np.asarray(grid.sigma)
    walked = t if np.isfinite(t[-1]) else t[:-1]
    if grid.steps < 1 or not np.isfinite(t[:-1]).all() or (np.diff(walked) >= 0).any():
        raise ValueError(f"DEIS needs a grid of finite, strictly descending network times; got {t.tolist()}")
    if (sigma[:-1] <= 0).any() or (sigma[-1] > 0 and not np.isfinite(t[-1])):
        raise ValueError("only the grid's last node may be the clean data (sigma = 0, t = NaN)")


def _step_orders(grid: TimeGrid, order: int, lower_order_final: bool) -> list[int]:
    """How many eps each step's polynomial runs through."""
    # A step into the clean data is first order: no polynomial reaches log rho = -inf.
    return [1 if grid.sigma[i + 1] == 0 else k
            for i, k in enumerate(multistep_orders(grid.steps, order, lower_order_final))]


def _rho_quadrature(alphas_cumprod: np.ndarray, t_start: float, t_end: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes tau and weights w with sum_k w_k f(tau_k) = int_{t_start}^{t_end} f(tau) drho(tau) (t_end < t_start),
    Gauss-Legendre on each piece between integer times, where log alpha = a + b t is linear and drho/dt =
    -b / (alpha sigma) smooth."""
    x, w = GAUSS
    edges = np.concatenate([[t_end], np.arange(math.floor(t_end) + 1, math.ceil(t_start)), [t_start]])
    half = np.diff(edges)[:, None] / 2
    tau = (edges[:-1, None] + half * (1 + x)).ravel()
    log_alpha = 0.5 * np.log(alphas_cumprod)
    segment = np.clip(np.floor(tau), 0, len(log_alpha) - 2).astype(int)  # past the ends: the end slope, as times.py
    slope = log_alpha[segment + 1] - log_alpha[segment]
    alpha, sigma = coefficients(alphas_cumprod, tau)
    return tau, (half * w).ravel() * slope / (alpha * sigma)  # -w drho/dt: run from t_start down to t_end


def _lagrange(v: np.ndarray, nodes: np.ndarray, j: int) -> np.ndarray:
    """The j-th Lagrange basis polynomial through `nodes`, at v."""
    out = np.ones_like(v)
    for k, node in enumerate(nodes):
        if k != j:
            out = out * (v - node) / (nodes[j] - node)
    return out


def _tab_coefficients(grid: TimeGrid, orders: list[int], variable: str = "t") -> Weights:
    """Each step's x and eps weights; the polynomial in `variable`: "t" (the authors' tAB) or "logrho" (diffusers')."""
    if variable not in VARIABLES:
        raise ValueError(f"variable must be one of {VARIABLES}, got {variable!r}")
    alpha, rho = np.asarray(grid.alpha), np.asarray(grid.sigma) / np.asarray(grid.alpha)
    plan = []
    for i, k in enumerate(orders):
        if k == 1:  # l_0 = 1: DDIM's weight in closed form, also into sigma = 0
            plan.append((alpha[i + 1] / alpha[i], [alpha[i + 1] * (rho[i + 1] - rho[i])]))
            continue
        tau, w = _rho_quadrature(grid.alphas_cumprod, grid.t[i], grid.t[i + 1])
        if variable == "t":
            v, nodes = tau, np.asarray(grid.t)[i - k + 1:i + 1][::-1]
        else:
            a, s = coefficients(grid.alphas_cumprod, tau)
            v, nodes = np.log(s / a), np.log(rho[i - k + 1:i + 1])[::-1]
        weights = [alpha[i + 1] * float(w @ _lagrange(v, nodes, j)) for j in range(k)]
        plan.append((alpha[i + 1] / alpha[i], weights))
    return [(float(c), [float(v) for v in ws]) for c, ws in plan]


def _run(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, plan: Weights) -> Tensor:
    """Walk the grid with the per-step weights `plan`: one network evaluation per step."""
    keep = max(len(ws) for _, ws in plan)
    x, history = x_T, []
    for i, (x_coef, eps_coefs) in enumerate(plan):
        history = [eval_eps(eps_model, x, grid.t[i]), *history][:keep]
        x = x_coef * x
        for c, eps in zip(eps_coefs, history):
            x = x + c * eps
    return x


@torch.no_grad()
def deis(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *, generator: torch.Generator | None = None,
         order: int, lower_order_final: bool) -> Tensor:
    """tAB-DEIS over `grid`, its polynomial through the last `order` eps (the registry's 1-4; 1 = DDIM, 4 = the
    paper's tAB3), one evaluation per step. Deterministic: `generator` is unused."""
    _check(grid, order)
    return _run(eps_model, x_T, grid, _tab_coefficients(grid, _step_orders(grid, int(order), lower_order_final)))
