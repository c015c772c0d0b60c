"""The DDIM family: paper eq. 12, the generalized step from alpha a to alpha a', with its sigma(eta) of eq. 16."""

from __future__ import annotations

import math

from torch import Tensor

from ddim_eval.sampling.common import predict_x0


def ddim_sigma(eta: float, a: float, a_next: float) -> float:
    """Paper eq. 16: sigma_t(eta) = eta sqrt((1 - a_{t'}) / (1 - a_t)) sqrt(1 - a_t / a_{t'})."""
    return eta * math.sqrt((1.0 - a_next) / (1.0 - a)) * math.sqrt(1.0 - a / a_next)


def ddim_step(x: Tensor, eps: Tensor, a: float, a_next: float, sigma: float = 0.0) -> tuple[Tensor, Tensor]:
    """Paper eq. 12 from alpha a to alpha a_next, before its noise term sigma z; returns (x_next, x0_hat).
    Runs either direction (a_next > a denoises, a_next < a is the inversion step)."""
    x0 = predict_x0(x, eps, a)
    return math.sqrt(a_next) * x0 + math.sqrt(max(1.0 - a_next - sigma**2, 0.0)) * eps, x0
