"""Noise schedules and the timestep sub-sequences tau of the DDIM paper.

The paper writes alpha_t for the *cumulative* product of (1 - beta) (DDPM's alpha-bar); so does this module.
Everything here is float64 and host-side: the sampler turns these numbers into per-step Python floats.
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


def _linear_spacing(steps: int, T: int) -> list[int]:
    # The official "uniform" skip: range(0, T, T // S). When S does not divide T this yields more than S
    # timesteps (S = 30 gives 31); we keep the official sequence and report its length as the step count.
    return list(range(0, T, T // steps))


def _quadratic_spacing(steps: int, T: int) -> list[int]:
    # The official "quad" skip, float arithmetic and int() truncation included: for some S (16, 26, 31, ...)
    # it differs from the exact floor of 0.8 T i^2 / (S-1)^2, and the paper's numbers come from this version.
    return [int(s) for s in np.linspace(0, np.sqrt(T * 0.8), steps) ** 2]


SPACINGS: dict[str, Callable[[int, int], list[int]]] = {
    "linear": _linear_spacing,
    "quadratic": _quadratic_spacing,
}


def timesteps(steps: int, spacing: str = "linear", T: int = T_DEFAULT) -> list[int]:
    """The sub-sequence tau: ascending 0-based timesteps, duplicates kept (each costs a network evaluation).

    `linear` is the official "uniform" skip (0, T//S, 2 T//S, ...); `quadratic` is the official "quad" skip
    (top t = 0.8 T, with repeated small timesteps). Add a spacing by adding an entry to `SPACINGS`.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an integer, got {steps!r}")
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be in [1, T={T}], got {steps}")
    if spacing not in SPACINGS:
        raise ValueError(f"unknown spacing {spacing!r}; allowed: {sorted(SPACINGS)}")
    return SPACINGS[spacing](int(steps), T)


def describe_timesteps(ts: list[int]) -> str:
    """One line for logs and reports: network evaluations, distinct timesteps, and the range."""
    return f"{len(ts)} network evaluations, {len(set(ts))} distinct timesteps, t = {ts[0]}..{ts[-1]}"
