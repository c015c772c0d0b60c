"""The DDIM family's steps on the host: the noise std sigma(eta) of the paper's eq. 16, the official sigma-hat,
and the plan of a discrete grid's steps (which alphas each step joins and how much noise it adds).

Torch-free: the DAG build checks every planned cell's eta against every one of its steps with `generative_steps`
(an eta too large for a step is refused before any job), and `ddim.sample` walks the same plan.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ddim_eval.sampling.samplers import SIGMA_HAT
from ddim_eval.sampling.times import TimeGrid, integer_times

Eta = float | str  # a float >= 0 (eq. 12), or SIGMA_HAT (the official ddpm_noisy update)


def ddim_sigma(eta: float, a: float, a_next: float) -> float:
    """Paper eq. 16: sigma_t(eta) = eta sqrt((1 - a_{t'}) / (1 - a_t)) sqrt(1 - a_t / a_{t'})."""
    return eta * math.sqrt((1.0 - a_next) / (1.0 - a)) * math.sqrt(1.0 - a / a_next)


def sigma_hat(a: float, a_next: float) -> float:
    """Table 1's sigma-hat between alphas a and a_next: sqrt(1 - a / a_next), the DDPM posterior's std."""
    return math.sqrt(1.0 - a / a_next)


def paper_alphas(grid: TimeGrid) -> tuple[list[int], list[float]]:
    """A discrete grid's integer times (the clean data excluded) and the paper's alpha_t at every node, 1 at the
    clean data (the official `compute_alpha` pads the front with beta = 0)."""
    ts = integer_times(grid)
    return ts, [float(grid.alphas_cumprod[t]) for t in ts] + [1.0]


class Step(NamedTuple):
    t: int  # timestep the network is evaluated at
    a: float  # alpha of the current x
    a_next: float  # alpha of the x this step produces
    sigma: float  # std of the fresh noise added (0: none drawn)


def check_eta(eta: Eta) -> Eta:
    """`eta` as a float, or SIGMA_HAT; ValueError for anything else."""
    if eta == SIGMA_HAT:
        return eta
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not math.isfinite(eta) or eta < 0:
        raise ValueError(f"eta must be a finite number >= 0 or {SIGMA_HAT!r}, got {eta!r}")
    return float(eta)


def generative_steps(grid: TimeGrid, eta: Eta) -> list[Step]:
    """The grid's steps from the top down to the clean data, with the noise std each one adds; ValueError naming
    the first step for which eta is too large (sigma^2 above 1 - alpha_t')."""
    ts, a = paper_alphas(grid)
    steps = []
    for i, t in enumerate(ts):
        if eta == SIGMA_HAT:
            # The official ddpm_noisy draws no noise where the current t is 0; with tau starting at 0 that is
            # exactly the last step (a duplicate 0 -> 0 step has std 0 anyway).
            sigma = sigma_hat(a[i], a[i + 1]) if i + 1 < len(ts) else 0.0
        else:
            sigma = ddim_sigma(eta, a[i], a[i + 1])
            if 1.0 - a[i + 1] - sigma**2 < -1e-12:
                t_next = ts[i + 1] if i + 1 < len(ts) else "data"
                raise ValueError(f"eta={eta:g} is too large for the step t={t} -> t'={t_next} of {len(ts)} steps: "
                                 f"sigma^2 = {sigma**2:.4g} exceeds 1 - alpha_t' = {1 - a[i + 1]:.4g}; "
                                 f"allowed here: eta <= {eta * math.sqrt(1 - a[i + 1]) / sigma:.4g}")
        steps.append(Step(t, a[i], a[i + 1], sigma))
    return steps
