"""Time grids: where a sampler evaluates the network, and the VP coefficients there. Every sampler and the paper's
API (sample, encode, reconstruction, figures) walk a `TimeGrid`.

A `TimeGrid` lists nodes from noise to data. Node i has the network's time input t_i (in the units of the
network's discrete timesteps, 0..T-1, fractional allowed) and the coefficients of x_t = alpha_i x_0 + sigma_i eps
(alpha_i^2 = the paper's alpha_t, alpha_i^2 + sigma_i^2 = 1). A grid may end at the clean data (alpha = 1,
sigma = 0, no time input: t = NaN), as DDIM's does; a sampler evaluates the network at every node but the last.

Three kinds of grid, one per family of samplers, each with its table of spacings:
- `discrete`: integer timesteps (a tau sub-sequence, `DISCRETE_SPACINGS`), then the clean data: DDIM, PNDM.
- `continuous`: the convention of DPM-Solver's authors for discrete-time models. Continuous time tau in [1/N, 1],
  log alpha interpolated piecewise linearly between the N training timesteps (tau_n = (n + 1) / N), and the
  network queried at t = (tau - 1/N) N. The grid runs from tau = 1 to tau = 1/N (t = T - 1 to 0) and ends
  there, at sigma = sqrt(1 - alpha_0), not at the clean data: DPM-Solver, DPM-Solver++, UniPC, DEIS.
- `karras`: Karras et al.'s rho = 7 spacing of sigma/alpha between the schedule's ends, then the clean data:
  Euler and Heun. Times are found by the same piecewise-linear log alpha.

Add a spacing by adding an entry to its kind's table. Everything here is float64 numpy on the host, and torch-free
(the DAG build checks spacings with it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ddim_eval.sampling.schedule import make_alphas_cumprod

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


class Node(NamedTuple):
    """A grid node as host floats, what a sampler's coefficients are computed from."""

    t: float  # the network's time input (NaN at the clean data)
    alpha: float
    sigma: float
    lam: float  # half log-SNR, +inf at the clean data

    @property
    def is_data(self) -> bool:
        return self.sigma == 0.0


def nodes(grid: TimeGrid) -> list[Node]:
    """The grid's nodes as host floats, from noise to data."""
    return [Node(*v) for v in zip(grid.t.tolist(), grid.alpha.tolist(), grid.sigma.tolist(), grid.lambdas.tolist())]


def _half_log_alphas(alphas_cumprod: np.ndarray) -> np.ndarray:
    return 0.5 * np.log(np.asarray(alphas_cumprod, dtype=np.float64))


def coefficients(alphas_cumprod: np.ndarray, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, sigma) at network times t: log alpha interpolated piecewise linearly between integer timesteps
    (exact at integers), extrapolated linearly beyond them as the authors' `interpolate_fn` does."""
    log_alpha = _interp(np.asarray(t, dtype=np.float64), np.arange(len(alphas_cumprod), dtype=np.float64),
                        _half_log_alphas(alphas_cumprod))
    return np.exp(log_alpha), np.sqrt(-np.expm1(2 * log_alpha))


def node_at_lambda(alphas_cumprod: np.ndarray, lam: float) -> Node:
    """The node at half log-SNR `lam`: its time by inverting lambda, alpha and sigma re-evaluated there, lambda kept
    exact (as DPM-Solver's authors place intermediate nodes)."""
    t = float(time_of_lambda(alphas_cumprod, lam))
    alpha, sigma = coefficients(alphas_cumprod, t)
    return Node(t, float(alpha), float(sigma), lam)


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


# --- discrete grids: integer timesteps (tau, ascending), then the clean data


def _linear(steps: int, alphas_cumprod: np.ndarray) -> list[int]:
    # The official "uniform" skip: range(0, T, T // S). When S does not divide T this yields more than S
    # timesteps (S = 30 gives 31); we keep the official sequence and report its length as the step count.
    T = len(alphas_cumprod)
    return list(range(0, T, T // steps))


def _quadratic(steps: int, alphas_cumprod: np.ndarray) -> list[int]:
    # The official "quad" skip, float arithmetic and int() truncation included: for some S (16, 26, 31, ...)
    # it differs from the exact floor of 0.8 T i^2 / (S-1)^2, and the paper's numbers come from this version.
    return [int(s) for s in np.linspace(0, np.sqrt(len(alphas_cumprod) * 0.8), steps) ** 2]


def _trailing(steps: int, alphas_cumprod: np.ndarray) -> list[int]:
    # Lin et al. 2023, "Common diffusion noise schedules and sample steps are flawed": start at T - 1 and step
    # back by T / S, so the top timestep is always the last training one.
    # (np.arange(T, 0, -T / S), diffusers' form, overshoots to -1 by rounding for some S, e.g. 61.)
    T = len(alphas_cumprod)
    return sorted(int(v) for v in np.round(T - np.arange(steps) * T / steps) - 1)


def _log_snr_discrete(steps: int, alphas_cumprod: np.ndarray) -> list[int]:
    # Uniform in half log-SNR between t = T - 1 and t = 0, each rounded to the nearest timestep (kept even when
    # two round to the same one, like the official quadratic spacing: each costs an evaluation).
    T = len(alphas_cumprod)
    lam = 0.5 * (np.log(alphas_cumprod) - np.log1p(-alphas_cumprod))
    points = np.linspace(lam[-1], lam[0], steps)
    return sorted(int(v) for v in np.rint(time_of_lambda(alphas_cumprod, points)).clip(0, T - 1))


# Each: (S, alphas_cumprod) -> tau, ascending 0-based timesteps, duplicates kept (each costs a network evaluation).
DISCRETE_SPACINGS: dict[str, Callable[[int, np.ndarray], list[int]]] = {
    "linear": _linear, "quadratic": _quadratic, "trailing": _trailing, "logSNR": _log_snr_discrete}


def timesteps(steps: int, spacing: str = "linear", alphas_cumprod: np.ndarray | None = None) -> list[int]:
    """The sub-sequence tau of a discrete spacing: ascending 0-based timesteps, duplicates kept (default schedule:
    linear betas, T = 1000).

    `linear` is the official "uniform" skip (0, T//S, 2 T//S, ...); `quadratic` is the official "quad" skip
    (top t = 0.8 T, with repeated small timesteps); `trailing` ends at T - 1; `logSNR` is uniform in log-SNR.
    """
    alphas = make_alphas_cumprod() if alphas_cumprod is None else np.asarray(alphas_cumprod, dtype=np.float64)
    check_spacing("discrete", spacing)
    _check_steps(steps, len(alphas))
    return DISCRETE_SPACINGS[spacing](int(steps), alphas)


def describe_timesteps(ts: list[int]) -> str:
    """One line for logs and reports: network evaluations, distinct timesteps, and the range."""
    return f"{len(ts)} network evaluations, {len(set(ts))} distinct timesteps, t = {ts[0]}..{ts[-1]}"


def discrete_grid(alphas_cumprod: np.ndarray, steps: int, spacing: str = "linear") -> TimeGrid:
    """S integer timesteps of a discrete spacing (tau from the top down), then the clean data."""
    return grid_at(alphas_cumprod, np.array(timesteps(steps, spacing, alphas_cumprod)[::-1], dtype=np.float64),
                   to_data=True)


def integer_times(grid: TimeGrid) -> list[int]:
    """A discrete grid's network times from the top down (the clean data excluded); ValueError for another grid,
    or for times that are not a tau of its schedule (in [0, T - 1], from the top down, at least one)."""
    t, T = grid.t[:-1], len(grid.alphas_cumprod)
    if not (math.isnan(grid.t[-1]) and grid.sigma[-1] == 0) or np.isnan(t).any() or (t != np.round(t)).any():
        raise ValueError(f"this sampler walks a discrete grid (integer timesteps, then the clean data); got network "
                         f"times {grid.t.tolist()}")
    tau = [int(v) for v in t[::-1]]
    if not tau:
        raise ValueError("the grid has no step; need at least one timestep before the clean data")
    if tau[0] < 0 or tau[-1] >= T:
        raise ValueError(f"timesteps must lie in [0, {T - 1}] for this schedule (T = {T}), got {tau[0]}..{tau[-1]}")
    if any(b < a for a, b in zip(tau, tau[1:])):
        raise ValueError(f"timesteps must be ascending as tau (a grid runs them from the top down), got tau {tau}")
    return tau[::-1]


# --- continuous grids: the DPM-Solver authors' convention


def _tau_uniform(steps: int, N: int, _: np.ndarray) -> np.ndarray:
    return np.linspace(1.0, 1.0 / N, steps + 1)


def _tau_quadratic(steps: int, N: int, _: np.ndarray) -> np.ndarray:
    return np.linspace(1.0, np.sqrt(1.0 / N), steps + 1) ** 2


def _tau_log_snr(steps: int, N: int, alphas_cumprod: np.ndarray) -> np.ndarray:
    ends = grid_at(alphas_cumprod, np.array([N - 1.0, 0.0]), to_data=False).lambdas
    return time_of_lambda(alphas_cumprod, np.linspace(ends[0], ends[1], steps + 1)) / N + 1.0 / N


# Each: (steps, N, alphas_cumprod) -> continuous times tau, from 1 down to 1/N.
CONTINUOUS_SPACINGS: dict[str, Callable[[int, int, np.ndarray], np.ndarray]] = {
    "time_uniform": _tau_uniform, "time_quadratic": _tau_quadratic, "logSNR": _tau_log_snr}


def continuous_grid(alphas_cumprod: np.ndarray, steps: int, spacing: str) -> TimeGrid:
    """`steps` steps from tau = 1 to tau = 1/N, spaced uniformly in tau, in sqrt(tau) (time_quadratic) or in
    log-SNR; the network time of node tau is (tau - 1/N) N."""
    N = len(alphas_cumprod)
    tau = CONTINUOUS_SPACINGS[spacing](steps, N, np.asarray(alphas_cumprod, dtype=np.float64))
    return grid_at(alphas_cumprod, (tau - 1.0 / N) * N, to_data=False)


# --- Karras et al.'s sigma spacing


def _rho_ramp(steps: int, s_max: float, s_min: float) -> np.ndarray:
    # Karras et al. 2022, eq. 5: uniform in s^(1/rho).
    ramp = np.linspace(0.0, 1.0, steps)
    return (s_max ** (1 / KARRAS_RHO) + ramp * (s_min ** (1 / KARRAS_RHO) - s_max ** (1 / KARRAS_RHO))) ** KARRAS_RHO


# Each: (steps, s_max, s_min) -> noise levels s = sigma / alpha, from s_max down to s_min.
KARRAS_SPACINGS: dict[str, Callable[[int, float, float], np.ndarray]] = {"karras": _rho_ramp}


def karras_grid(alphas_cumprod: np.ndarray, steps: int, spacing: str = "karras") -> TimeGrid:
    """`steps` values of s = sigma / alpha from the schedule's largest to its smallest (rho = 7), then s = 0; times
    found through the piecewise-linear log alpha."""
    table = np.asarray(alphas_cumprod, dtype=np.float64)
    s = KARRAS_SPACINGS[spacing](steps, np.sqrt((1 - table[-1]) / table[-1]), np.sqrt((1 - table[0]) / table[0]))
    t = time_of_lambda(table, -np.log(s))
    return TimeGrid(np.append(t, np.nan), np.append(1 / np.sqrt(1 + s**2), 1.0),
                    np.append(s / np.sqrt(1 + s**2), 0.0), table)


GRIDS: dict[str, tuple[Callable[[np.ndarray, int, str], TimeGrid], dict[str, Callable]]] = {
    "discrete": (discrete_grid, DISCRETE_SPACINGS),
    "continuous": (continuous_grid, CONTINUOUS_SPACINGS),
    "karras": (karras_grid, KARRAS_SPACINGS),
}
ALL_SPACINGS = tuple(sorted({s for _, spacings in GRIDS.values() for s in spacings}))


def check_spacing(kind: str, spacing: str) -> None:
    if kind not in GRIDS:
        raise ValueError(f"unknown grid kind {kind!r}; allowed: {sorted(GRIDS)}")
    if spacing not in GRIDS[kind][1]:
        raise ValueError(f"spacing {spacing!r} is not one of a {kind} grid's: {list(GRIDS[kind][1])}")


def _check_steps(steps: int, T: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an integer, got {steps!r}")
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be in [1, T={T}], got {steps}")


def time_grid(alphas_cumprod: np.ndarray, kind: str, steps: int, spacing: str) -> TimeGrid:
    """The grid of `kind` ("discrete", "continuous" or "karras") with `steps` steps and `spacing`."""
    check_spacing(kind, spacing)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return GRIDS[kind][0](np.asarray(alphas_cumprod, dtype=np.float64), int(steps), spacing)
