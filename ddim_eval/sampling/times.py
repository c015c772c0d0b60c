"""Time grids: where a sampler evaluates the network, and the VP coefficients there.

A `TimeGrid` lists nodes from noise to data. Node i has the network's time input t_i (in the units of the
network's discrete timesteps, 0..T-1, fractional allowed) and the coefficients of x_t = alpha_i x_0 + sigma_i eps
(alpha_i^2 = the paper's alpha_t, alpha_i^2 + sigma_i^2 = 1). A grid may end at the clean data (alpha = 1,
sigma = 0, no time input: t = NaN), as DDIM's does; a sampler evaluates the network at every node but the last.

Three kinds of grid, one per family of samplers:
- `discrete`: integer timesteps (a tau sub-sequence), then the clean data: DDIM, PNDM.
- `continuous`: the convention of DPM-Solver's authors for discrete-time models. Continuous time tau in [1/N, 1],
  log alpha interpolated piecewise linearly between the N training timesteps (tau_n = (n + 1) / N), and the
  network queried at t = (tau - 1/N) N. The grid runs from tau = 1 to tau = 1/N (t = T - 1 to 0) and ends
  there, at sigma = sqrt(1 - alpha_0), not at the clean data: DPM-Solver, DPM-Solver++, UniPC, DEIS.
- `karras`: Karras et al.'s rho = 7 spacing of sigma/alpha between the schedule's ends, then the clean data:
  Euler and Heun. Times are found by the same piecewise-linear log alpha.

Everything here is float64 numpy on the host, and torch-free (the DAG build checks spacings with it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ddim_eval.sampling.schedule import timesteps as discrete_timesteps

KARRAS_RHO = 7.0


class TimeGrid(NamedTuple):
    t: np.ndarray  # [M + 1] the network's time input per node, descending; NaN at a clean-data node
    alpha: np.ndarray  # [M + 1] signal coefficient, sqrt of the paper's alpha_t
    sigma: np.ndarray  # [M + 1] noise coefficient, sqrt(1 - alpha^2)
    alphas_cumprod: np.ndarray  # the network's training schedule (samplers that place extra nodes need it)

    @property
    def lambdas(self) -> np.ndarray:
        """Half log-SNR, log(alpha / sigma) per node (+inf at the clean data)."""
        with np.errstate(divide="ignore"):
            return np.log(self.alpha) - np.log(self.sigma)

    @property
    def steps(self) -> int:
        return len(self.t) - 1


def _half_log_alphas(alphas_cumprod: np.ndarray) -> np.ndarray:
    return 0.5 * np.log(np.asarray(alphas_cumprod, dtype=np.float64))


def coefficients(alphas_cumprod: np.ndarray, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, sigma) at network times t: log alpha interpolated piecewise linearly between integer timesteps
    (exact at integers), extrapolated linearly beyond them as the authors' `interpolate_fn` does."""
    log_alpha = _interp(np.asarray(t, dtype=np.float64), np.arange(len(alphas_cumprod), dtype=np.float64),
                        _half_log_alphas(alphas_cumprod))
    return np.exp(log_alpha), np.sqrt(-np.expm1(2 * log_alpha))


def time_of_lambda(alphas_cumprod: np.ndarray, lambdas: np.ndarray | float) -> np.ndarray:
    """The network time at which the half log-SNR equals `lambdas` (the inverse of `coefficients`)."""
    log_alpha = -0.5 * np.logaddexp(0.0, -2.0 * np.asarray(lambdas, dtype=np.float64))
    table = _half_log_alphas(alphas_cumprod)  # decreasing in t
    return _interp(log_alpha, table[::-1], np.arange(len(table), dtype=np.float64)[::-1])


def _interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolation through (xp, fp), xp ascending, continued linearly past both ends."""
    y = np.interp(x, xp, fp)
    lo, hi = x < xp[0], x > xp[-1]
    y = np.where(lo, fp[0] + (x - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0]), y)
    return np.where(hi, fp[-1] + (x - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2]), y)


def grid_at(alphas_cumprod: np.ndarray, t: np.ndarray, *, to_data: bool) -> TimeGrid:
    """The grid through network times t (descending), with the clean-data node appended when `to_data`."""
    t = np.asarray(t, dtype=np.float64)
    alpha, sigma = coefficients(alphas_cumprod, t)
    if to_data:
        t, alpha, sigma = np.append(t, np.nan), np.append(alpha, 1.0), np.append(sigma, 0.0)
    return TimeGrid(t, alpha, sigma, np.asarray(alphas_cumprod, dtype=np.float64))


# --- discrete grids: integer timesteps, then the clean data


def integer_timesteps(grid: TimeGrid) -> list[int]:
    """A discrete grid's tau, ascending (what `ddim_eval.sampling.sample` takes); ValueError for another grid."""
    t = grid.t[:-1]
    if not (np.isnan(grid.t[-1]) and grid.sigma[-1] == 0) or np.isnan(t).any() or (t != np.round(t)).any():
        raise ValueError(f"this sampler walks a discrete grid (integer timesteps, then the clean data); got network "
                         f"times {grid.t.tolist()}")
    return [int(v) for v in t[::-1]]


def _trailing(steps: int, T: int) -> list[int]:
    # Lin et al. 2023, "Common diffusion noise schedules and sample steps are flawed": start at T - 1 and step
    # back by T / S, so the top timestep is always the last training one.
    # (np.arange(T, 0, -T / S), diffusers' form, overshoots to -1 by rounding for some S, e.g. 61.)
    return sorted(int(v) for v in np.round(T - np.arange(steps) * T / steps) - 1)


def _log_snr_discrete(steps: int, T: int, alphas_cumprod: np.ndarray) -> list[int]:
    # Uniform in half log-SNR between t = T - 1 and t = 0, each rounded to the nearest timestep (kept even when
    # two round to the same one, like the official quadratic spacing: each costs an evaluation).
    table = alphas_cumprod[:T]
    lam = 0.5 * (np.log(table) - np.log1p(-table))
    points = np.linspace(lam[-1], lam[0], steps)
    return sorted(int(v) for v in np.rint(time_of_lambda(table, points)).clip(0, T - 1))


def discrete_grid(alphas_cumprod: np.ndarray, steps: int, spacing: str) -> TimeGrid:
    """S integer timesteps (the paper's `linear` and `quadratic`, Lin et al.'s `trailing`, or uniform in log-SNR),
    then the clean data."""
    T = len(alphas_cumprod)
    if steps > T:
        raise ValueError(f"steps must be in [1, T={T}] for a discrete grid, got {steps}")
    if spacing == "trailing":
        ts = _trailing(steps, T)
    elif spacing == "logSNR":
        ts = _log_snr_discrete(steps, T, np.asarray(alphas_cumprod, dtype=np.float64))
    else:
        ts = discrete_timesteps(steps, spacing, T)
    return grid_at(alphas_cumprod, np.array(ts[::-1], dtype=np.float64), to_data=True)


# --- continuous grids: the DPM-Solver authors' convention


def _tau_uniform(steps: int, N: int, _: np.ndarray) -> np.ndarray:
    return np.linspace(1.0, 1.0 / N, steps + 1)


def _tau_quadratic(steps: int, N: int, _: np.ndarray) -> np.ndarray:
    return np.linspace(1.0, np.sqrt(1.0 / N), steps + 1) ** 2


def _tau_log_snr(steps: int, N: int, alphas_cumprod: np.ndarray) -> np.ndarray:
    ends = grid_at(alphas_cumprod, np.array([N - 1.0, 0.0]), to_data=False).lambdas
    return time_of_lambda(alphas_cumprod, np.linspace(ends[0], ends[1], steps + 1)) / N + 1.0 / N


CONTINUOUS_SPACINGS: dict[str, Callable[[int, int, np.ndarray], np.ndarray]] = {
    "time_uniform": _tau_uniform, "time_quadratic": _tau_quadratic, "logSNR": _tau_log_snr}


def continuous_grid(alphas_cumprod: np.ndarray, steps: int, spacing: str) -> TimeGrid:
    """`steps` steps from tau = 1 to tau = 1/N, spaced uniformly in tau, in sqrt(tau) (time_quadratic) or in
    log-SNR; the network time of node tau is (tau - 1/N) N."""
    N = len(alphas_cumprod)
    tau = CONTINUOUS_SPACINGS[spacing](steps, N, np.asarray(alphas_cumprod, dtype=np.float64))
    return grid_at(alphas_cumprod, (tau - 1.0 / N) * N, to_data=False)


# --- Karras et al.'s sigma spacing


def karras_grid(alphas_cumprod: np.ndarray, steps: int, spacing: str = "karras") -> TimeGrid:
    """`steps` values of s = sigma / alpha from the schedule's largest to its smallest, uniform in s^(1/rho) with
    rho = 7 (Karras et al. 2022, eq. 5), then s = 0; times found through the piecewise-linear log alpha."""
    table = np.asarray(alphas_cumprod, dtype=np.float64)
    s_max, s_min = np.sqrt((1 - table[-1]) / table[-1]), np.sqrt((1 - table[0]) / table[0])
    ramp = np.linspace(0.0, 1.0, steps)
    s = (s_max ** (1 / KARRAS_RHO) + ramp * (s_min ** (1 / KARRAS_RHO) - s_max ** (1 / KARRAS_RHO))) ** KARRAS_RHO
    t = time_of_lambda(table, -np.log(s))
    return TimeGrid(np.append(t, np.nan), np.append(1 / np.sqrt(1 + s**2), 1.0),
                    np.append(s / np.sqrt(1 + s**2), 0.0), table)


GRIDS: dict[str, tuple[Callable[[np.ndarray, int, str], TimeGrid], tuple[str, ...]]] = {
    "discrete": (discrete_grid, ("linear", "quadratic", "trailing", "logSNR")),
    "continuous": (continuous_grid, tuple(CONTINUOUS_SPACINGS)),
    "karras": (karras_grid, ("karras",)),
}


def check_spacing(kind: str, spacing: str) -> None:
    if kind not in GRIDS:
        raise ValueError(f"unknown grid kind {kind!r}; allowed: {sorted(GRIDS)}")
    if spacing not in GRIDS[kind][1]:
        raise ValueError(f"spacing {spacing!r} is not one of a {kind} grid's: {list(GRIDS[kind][1])}")


def time_grid(alphas_cumprod: np.ndarray, kind: str, steps: int, spacing: str) -> TimeGrid:
    """The grid of `kind` ("discrete", "continuous" or "karras") with `steps` steps and `spacing`."""
    check_spacing(kind, spacing)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return GRIDS[kind][0](np.asarray(alphas_cumprod, dtype=np.float64), int(steps), spacing)
