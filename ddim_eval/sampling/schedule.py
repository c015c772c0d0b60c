"""Noise schedules: the betas and the paper's alpha_t (tau spacings are time grids': `ddim_eval.sampling.times`).

The paper writes alpha_t for the *cumulative* product of (1 - beta) (DDPM's alpha-bar); so does this module.
Everything here is float64 and host-side: a time grid turns these numbers into per-node Python floats.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

T_DEFAULT = 1000
BETA_START = 1e-4
BETA_END = 0.02


def linear_betas(T: int = T_DEFAULT, beta_start: float = BETA_START, beta_end: float = BETA_END) -> np.ndarray:
    """DDPM's linear beta schedule, float64 (the official code's `np.linspace(..., dtype=np.float64)`)."""
    if T < 1:
        raise ValueError(f"T must be a positive integer, got {T}")
    if not 0 < beta_start <= beta_end < 1:
        raise ValueError(f"need 0 < beta_start <= beta_end < 1, got beta_start={beta_start}, beta_end={beta_end}")
    return np.linspace(beta_start, beta_end, T, dtype=np.float64)


def alphas_cumprod(betas: np.ndarray) -> np.ndarray:
    """The paper's alpha_t = prod_{s <= t} (1 - beta_s), float64, indexed by 0-based t."""
    return np.cumprod(1.0 - np.asarray(betas, dtype=np.float64))


BETA_SCHEDULES: dict[str, Callable[..., np.ndarray]] = {"linear": linear_betas}


def make_alphas_cumprod(
    schedule: str = "linear", T: int = T_DEFAULT, beta_start: float = BETA_START, beta_end: float = BETA_END
) -> np.ndarray:
    """alpha_t for a named beta schedule (the registry's `beta_schedule`)."""
    if schedule not in BETA_SCHEDULES:
        raise ValueError(f"unknown beta schedule {schedule!r}; allowed: {sorted(BETA_SCHEDULES)}")
    return alphas_cumprod(BETA_SCHEDULES[schedule](T, beta_start, beta_end))
