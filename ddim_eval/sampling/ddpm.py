"""The DDPM family as the paper's Table 1 runs it: the official `ddpm_noisy` update, whose std is sigma-hat."""

from __future__ import annotations

import math

from torch import Tensor

from ddim_eval.sampling.common import predict_x0


def sigma_hat(a: float, a_next: float) -> float:
    """Table 1's sigma-hat between alphas a and a_next: sqrt(1 - a / a_next), the DDPM posterior's std."""
    return math.sqrt(1.0 - a / a_next)


def sigma_hat_step(x: Tensor, eps: Tensor, a: float, a_next: float) -> tuple[Tensor, Tensor]:
    """The official `ddpm_noisy` step before its noise term: clamped x0_hat and the DDPM posterior mean between
    a and a_next (its noise std is `sigma_hat(a, a_next)`); returns (mean, x0_hat)."""
    beta = 1.0 - a / a_next
    x0 = predict_x0(x, eps, a).clamp(-1.0, 1.0)
    return (math.sqrt(a_next) * beta / (1.0 - a)) * x0 + (math.sqrt(1.0 - beta) * (1.0 - a_next) / (1.0 - a)) * x, x0
