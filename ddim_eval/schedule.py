"""Moved to ddim_eval.sampling.schedule: an old import path, kept for existing scripts."""

from ddim_eval.sampling.schedule import (
    BETA_END,
    BETA_SCHEDULES,
    BETA_START,
    SPACINGS,
    T_DEFAULT,
    alphas_cumprod,
    describe_timesteps,
    linear_betas,
    make_alphas_cumprod,
    timesteps,
)

__all__ = [
    "BETA_END",
    "BETA_SCHEDULES",
    "BETA_START",
    "SPACINGS",
    "T_DEFAULT",
    "alphas_cumprod",
    "describe_timesteps",
    "linear_betas",
    "make_alphas_cumprod",
    "timesteps",
]
