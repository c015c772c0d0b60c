"""diffusers' DDIM schedulers set up as this project's schedule (study support, not part of the package): the peer
implementation that the tests check `sample` and `encode` against, and that the benchmarks time beside them.

They meet where the conventions agree: linear betas (T = 1000, 1e-4 to 0.02), the "leading" spacing with S
dividing T (our `linear` tau), no offset, alpha = 1 after the last step, no clipping, eps prediction.
"""

from __future__ import annotations

from diffusers import DDIMInverseScheduler, DDIMScheduler
from torch import Generator, Tensor

from ddim_eval.sampling.common import EpsModel
from ddim_eval.sampling.schedule import BETA_END, BETA_START, T_DEFAULT

DDIM_CONFIG = dict(num_train_timesteps=T_DEFAULT, beta_start=BETA_START, beta_end=BETA_END, beta_schedule="linear",
                   clip_sample=False, set_alpha_to_one=True, steps_offset=0, timestep_spacing="leading",
                   prediction_type="epsilon")


def ddim_scheduler(steps: int, device: str | None = None) -> DDIMScheduler:
    """diffusers' DDIMScheduler with `DDIM_CONFIG`, set to `steps` steps."""
    scheduler = DDIMScheduler(**DDIM_CONFIG)
    scheduler.set_timesteps(steps, device=device)
    return scheduler


def diffusers_sample(eps_model: EpsModel, x_T: Tensor, steps: int, eta: float, *, noise: list[Tensor] | None = None,
                     generator: Generator | None = None) -> Tensor:
    """The loop a diffusers user writes: DDIMScheduler.step over its timesteps. `noise` (one tensor per step)
    overrides `generator`, as in `ddim_eval.sampling.sample`."""
    scheduler = ddim_scheduler(steps, device=x_T.device)
    x = x_T
    for i, t in enumerate(scheduler.timesteps):
        z = None if noise is None else noise[i]
        x = scheduler.step(eps_model(x, t.expand(x.shape[0])), t, x, eta=eta, variance_noise=z,
                           generator=generator).prev_sample
    return x


def diffusers_encode(eps_model: EpsModel, x_0: Tensor, steps: int) -> Tensor:
    """DDIMInverseScheduler's inversion of x_0 in `steps` steps (eps at the step's upper timestep)."""
    scheduler = DDIMInverseScheduler(**DDIM_CONFIG)
    scheduler.set_timesteps(steps)
    x = x_0
    for t in scheduler.timesteps:
        x = scheduler.step(eps_model(x, t.expand(x.shape[0])), t, x).prev_sample
    return x
