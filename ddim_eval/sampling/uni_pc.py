"""UniPC: Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of Diffusion Models"
(authors' code: wl-zhao/UniPC, uni_pc.py), in its data-prediction form (predict_x0 = True) with B(h) = h (bh1) or
e^h - 1 (bh2).

Multistep, as the authors' `sample(method="multistep")`: the first steps warm up with orders 1, 2, ... (UniP-p uses
the data predictions of the last p nodes); with `lower_order_final` step i of M has order min(order, M - i), with no
step-count condition (unlike DPM-Solver's authors' `steps < 10`). After each step but the last, the corrector UniC-p
(p: the order of the step just taken) recomputes the new node from the same start, adding the model's data
prediction at the predicted point; that prediction is reused as the next step's history, so NFE = steps.
The order-2 predictor and order-1 corrector use the authors' fixed rho = 1/2; the other weights solve the paper's
small linear systems (float64 numpy, on the host, before the loop).

Grids: the authors run on continuous times (DPM-Solver's convention for discrete-time models, ending at t = 0, sigma
~ 0.01); a grid may also end at the clean data (sigma = 0, as diffusers' final_sigmas_type="zero"). The step into
sigma = 0 is first order, x = the data prediction (the h -> inf limit of UniP-1, and the authors' `denoise_to_zero`):
there r_k = 0 and, for bh1, B(h) = -inf: diffusers gives NaN, inf or a singular solve for any step into sigma = 0
but a first-order bh2 one.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ddim_eval.sampling.common import EpsModel, check_x, eval_eps, multistep_orders, phis, predict_x0
from ddim_eval.sampling.times import TimeGrid

VARIANTS = ("bh1", "bh2")


class _Step(NamedTuple):
    """x_{i+1} = ratio x_i + data m_i + sum_k w_k (m_{i-k} - m_i) [+ w_t (m_{i+1} - m_i)], m: data predictions."""

    ratio: float  # sigma_{i+1} / sigma_i
    data: float  # alpha_{i+1} (1 - e^{-h})
    pred: tuple[float, ...]  # UniP-p: w_k, k = 1..p-1
    corr: tuple[float, ...] | None  # UniC-p: w_k, k = 1..p-1, then w_t; None: no corrector after this step


def _b_vector(hh: float, B: float, p: int) -> np.ndarray:
    # b_k = k! hh phi_{k+1}(hh) / B(h): the authors' recursion, `phis`' g_{k+1} scaled.
    g = phis(hh, p + 1)
    return np.array([g[k] * math.factorial(k) / B for k in range(1, p + 1)])


def _weights(lambdas: np.ndarray, alpha_next: float, i: int, p: int, variant: str, correct: bool
             ) -> tuple[tuple[float, ...], tuple[float, ...] | None]:
    """The predictor's and corrector's weights for the step i -> i + 1 of order p (float64, host)."""
    h = lambdas[i + 1] - lambdas[i]
    r = (lambdas[i - np.arange(1, p)] - lambdas[i]) / h  # r_k < 0: the history lies behind
    hh = -h  # data prediction integrates e^{-h}
    B = hh if variant == "bh1" else math.expm1(hh)
    b = _b_vector(hh, B, p)
    R = np.vander(np.append(r, 1.0), increasing=True).T  # R[k, j] = r_j^k
    scale = -alpha_next * B
    rho_p = np.array([0.5]) if p == 2 else np.linalg.solve(R[:-1, :-1], b[:-1]) if p > 2 else np.zeros(0)
    pred = tuple(float(v) for v in scale * rho_p / r)
    if not correct:
        return pred, None
    rho_c = np.array([0.5]) if p == 1 else np.linalg.solve(R, b)
    return pred, tuple(float(v) for v in scale * rho_c[:-1] / r) + (float(scale * rho_c[-1]),)


def _plan(grid: TimeGrid, order: int, variant: str, lower_order_final: bool, corrector: bool) -> list[_Step]:
    lambdas, alpha, sigma = grid.lambdas, grid.alpha, grid.sigma
    if (sigma[:-1] <= 0).any() or np.isnan(grid.t[:-1]).any() or not (np.diff(lambdas) > 0).all():
        raise ValueError(f"UniPC needs log-SNR strictly increasing, with only the last node at the clean data "
                         f"(sigma = 0); got network times {grid.t.tolist()}")
    plan = []
    for i, p in enumerate(multistep_orders(grid.steps, order, lower_order_final)):
        last = i + 1 == grid.steps
        if sigma[i + 1] == 0:  # into the clean data: first order, x = m_i (see the module docstring)
            plan.append(_Step(0.0, float(alpha[i + 1]), (), None))
            continue
        h = lambdas[i + 1] - lambdas[i]
        pred, corr = _weights(lambdas, float(alpha[i + 1]), i, p, variant, corrector and not last)
        plan.append(_Step(float(sigma[i + 1] / sigma[i]), float(-alpha[i + 1] * math.expm1(-h)), pred, corr))
    return plan


def _combine(base: Tensor, ms: list[Tensor], weights: tuple[float, ...]) -> Tensor:
    # Differences of data predictions, as the authors' D1s, keep the small terms exact in low precision.
    for w, m in zip(weights, ms[1:]):
        base = base + w * (m - ms[0])
    return base


def _data_prediction(eps_model: EpsModel, x: Tensor, grid: TimeGrid, i: int) -> Tensor:
    return predict_x0(x, eval_eps(eps_model, x, grid.t[i]), float(grid.alpha[i]), float(grid.sigma[i]))


@torch.no_grad()
def unipc(eps_model: EpsModel, x_T: Tensor, grid: TimeGrid, *, generator: torch.Generator | None = None,
          order: int, variant: str, lower_order_final: bool, corrector: bool = True) -> Tensor:
    """UniPC-`order` (`variant` "bh1" or "bh2") over `grid`: one network evaluation per step. `generator` is
    unused (deterministic); corrector=False gives the predictor UniP alone (order 1: DDIM)."""
    check_x(x_T, "x_T")
    if order not in (1, 2, 3) or variant not in VARIANTS:
        raise ValueError(f"UniPC needs order in (1, 2, 3) and variant in {VARIANTS}; got {order!r}, {variant!r}")
    if grid.steps < order:
        raise ValueError(f"UniPC-{order} needs at least {order} steps; the grid has {grid.steps}")
    plan = _plan(grid, order, variant, lower_order_final, corrector)
    x, ms = x_T, [_data_prediction(eps_model, x_T, grid, 0)]  # ms: newest first
    for i, step in enumerate(plan):
        base = step.ratio * x + step.data * ms[0]
        x_pred = _combine(base, ms, step.pred)
        if i + 1 == grid.steps:
            return x_pred
        m_new = _data_prediction(eps_model, x_pred, grid, i + 1)
        if step.corr is None:
            x = x_pred
        else:
            x = _combine(base, ms, step.corr[:-1]) + step.corr[-1] * (m_new - ms[0])
        ms = [m_new, *ms][:order]
    return x
