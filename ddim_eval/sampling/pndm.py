"""PNDM: pseudo numerical methods for diffusion models (Liu et al. 2022, "Pseudo Numerical Methods for Diffusion
Models on Manifolds"), as PLMS and F-PNDM over a `ddim_eval.sampling.times.TimeGrid`.

A pseudo method is a classical ODE method whose increment is replaced by the "transfer" phi(x, eps, t -> t'):
the DDIM (eta = 0) step x' = alpha' x0_hat + sigma' eps, with x0_hat = (x - sigma eps) / alpha. The methods differ
only in which eps they hand to phi:
- the pseudo linear multistep (Adams-Bashforth) combines the last four eps with (55, -59, 37, -9) / 24, and the
  last two or three with (3, -1) / 2 and (23, -16, 5) / 12 while fewer exist;
- `plms` (diffusers' PNDMScheduler with skip_prk_steps=True, CompVis' PLMS sampler): the first step is a pseudo
  improved Euler step, eps = (e(x, t) + e(phi(x, e, t -> t'), t')) / 2, then multistep of order 2, 3, 4, 4, ...;
  NFE = steps + 1. Only the first step's eps at (x, t) joins the history, not the Euler predictor's.
- `fpndm` (the paper's F-PNDM, PNDMScheduler with skip_prk_steps=False): three pseudo Runge-Kutta steps (four
  evaluations each: t, the mid time twice, t'; weights (1, 2, 2, 1) / 6), then the fourth-order multistep;
  NFE = steps + 9. Only each RK step's first eps joins the history.

The RK mid time. The authors' runner/method.py queries the network at the fractional (t + t') / 2 and takes alpha at
int((t + t') / 2) (their one-step shift below aside). diffusers uses the integer h = T // S // 2: the network's mid
time is t' + h, at its own alpha, but the first predictor is moved to alpha(t - h); for odd T // S these are one
timestep apart and neither is the midpoint. Here the mid time is (t + t') / 2 for any grid (quadratic tau included),
fractional when t - t' is odd, with alpha from `times.coefficients` (log alpha interpolated linearly between
timesteps, exact at integers): exactly diffusers' placement whenever T // S is even.

Alpha at a node is the grid's (the schedule's alpha at the network time t), and the step into the clean data uses
alpha = 1, as diffusers' set_alpha_to_one=True. (The authors' transfer reads alphas_cumprod[t + 1] with the network
at t, a one-step shift, and ends at alphas_cumprod[0]; we follow the network's training schedule instead.)

A warm-up step that would evaluate the network at a clean-data node (t = NaN; only on grids of fewer than four
steps) uses the multistep eps of what it has instead: the pseudo Euler step (DDIM) for a first step. phi into
alpha = 1, sigma = 0 is x0_hat, so no grid end makes a NaN.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ddim_eval.sampling.common import EpsModel, eval_eps
from ddim_eval.sampling.times import Node, TimeGrid, coefficients, nodes

# Adams-Bashforth weights by order, newest eps first.
MULTISTEP = {1: (1.0,), 2: (3 / 2, -1 / 2), 3: (23 / 12, -16 / 12, 5 / 12), 4: (55 / 24, -59 / 24, 37 / 24, -9 / 24)}
RK_WEIGHTS = (1 / 6, 1 / 3, 1 / 3, 1 / 6)
RK_STEPS = 3  # F-PNDM's Runge-Kutta warm-up: enough eps for the fourth-order multistep


def midpoint_nodes(grid: TimeGrid) -> list[Node | None]:
    """Per step, the node at the mid time (t + t') / 2 with its interpolated alpha; None for a step into the clean
    data (no time to average)."""
    mid = 0.5 * (grid.t[:-1] + grid.t[1:])
    alpha, sigma = coefficients(grid.alphas_cumprod, np.nan_to_num(mid))
    return [None if math.isnan(m) else Node(m, a, s, math.log(a) - math.log(s))
            for m, a, s in zip(mid.tolist(), alpha.tolist(), sigma.tolist())]


def _transfer(x: Tensor, eps: Tensor, src: Node, dst: Node) -> Tensor:
    # phi: DDIM's eta = 0 step in the ratio form x' = (alpha'/alpha) x + (sigma' - (alpha'/alpha) sigma) eps, so
    # that sigma' = 0 gives x0_hat exactly.
    ratio = dst.alpha / src.alpha
    return ratio * x + (dst.sigma - ratio * src.sigma) * eps


def _multistep(history: list[Tensor]) -> Tensor:
    weights = MULTISTEP[len(history)]
    eps = weights[0] * history[-1]
    for w, e in zip(weights[1:], reversed(history[:-1])):
        eps = eps + w * e
    return eps


def _evaluable(node: Node | None) -> bool:
    return node is not None and not math.isnan(node.t)


@torch.no_grad()
def plms(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *, generator: torch.Generator | None = None) -> Tensor:
    """PLMS: a pseudo improved Euler step, then the pseudo linear multistep (orders 2, 3, then 4) from x_T at the
    grid's first node to its last; steps + 1 network evaluations. Deterministic (`generator` unused)."""
    ns = nodes(grid)
    x, history = x_T, []
    for i, (src, dst) in enumerate(zip(ns, ns[1:])):
        eps = eval_eps(eps_model, x, src.t)
        history = [*history[-3:], eps]
        if i == 0 and _evaluable(dst):
            # Pseudo improved Euler: the mean of the eps at both ends of a pseudo Euler step.
            predictor = _transfer(x, eps, src, dst)
            eps = 0.5 * (eps + eval_eps(eps_model, predictor, dst.t))
        else:
            eps = _multistep(history)
        x = _transfer(x, eps, src, dst)
    return x


def _pseudo_rk4(eps_model: EpsModel, x: Tensor, e1: Tensor, src: Node, mid: Node, first: Node, dst: Node
                ) -> Tensor:
    # The classical RK4 stages with phi for the increments, every stage starting from x. The first predictor lands
    # at `first` and is evaluated at mid.t: the same node but under diffusers' odd-stride convention.
    e2 = eval_eps(eps_model, _transfer(x, e1, src, first), mid.t)
    e3 = eval_eps(eps_model, _transfer(x, e2, src, mid), mid.t)
    e4 = eval_eps(eps_model, _transfer(x, e3, src, dst), dst.t)
    w1, w2, w3, w4 = RK_WEIGHTS
    return w1 * e1 + w2 * e2 + w3 * e3 + w4 * e4


@torch.no_grad()
def pndm_walk(eps_model: EpsModel, x_T: Tensor, nodes: list[Node], rk: list[tuple[Node, Node] | None]) -> Tensor:
    """F-PNDM over `nodes`: a pseudo Runge-Kutta step i wherever rk[i] = (mid node, node the first predictor lands
    at) is given (F-PNDM: the first three), the pseudo linear multistep of the history everywhere else."""
    x, history = x_T, []
    for i, (src, dst) in enumerate(zip(nodes, nodes[1:])):
        eps = eval_eps(eps_model, x, src.t)
        history = [*history[-3:], eps]
        if i < len(rk) and rk[i] is not None:
            eps = _pseudo_rk4(eps_model, x, eps, src, *rk[i], dst)
        else:
            eps = _multistep(history)
        x = _transfer(x, eps, src, dst)
    return x


@torch.no_grad()
def fpndm(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *, generator: torch.Generator | None = None) -> Tensor:
    """F-PNDM: three pseudo Runge-Kutta steps (mid time (t + t') / 2), then the fourth-order pseudo linear
    multistep; steps + 9 network evaluations. Deterministic (`generator` unused)."""
    rk = [None if mid is None else (mid, mid) for mid in midpoint_nodes(grid)[:RK_STEPS]]
    return pndm_walk(eps_model, x_T, nodes(grid), rk)

