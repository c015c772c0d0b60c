"""Convergence order of the samplers on the exact Gaussian-mixture oracle (study support for
`benchmarks/convergence_order.py` and `tests/sampling/test_convergence.py`, not part of the package): the error of
the final sample against a high-NFE reference, over NFE, and the slope of log error against log NFE.

Every sampler runs through `ddim_eval.sampling.run.prepare` from the same float64 x_T, with `mixture_eps_model` (exact
at fractional t) as eps_model. The error of a run is the RMS over all points and coordinates of (its final sample -
the reference); its order is minus the least-squares slope of log error on log NFE over a stated NFE range. NFE is
counted (calls of the eps model, each batch-wide), and checked against `run.nfe` for registered samplers.

The reference solves the same ODE from the same start node to the same end point. The oracle depends on t only
through alpha(t), so every grid kind discretises one ODE in the half log-SNR lambda, and a sampler's limit is fixed
by its first and last nodes:
- a continuous grid runs from t = T - 1 to t = 0 (sigma ~ 0.01);
- a karras grid's last nodes are t = 0 (its smallest sigma / alpha is t = 0's) and then the clean data, and the
  paper's linear tau (S dividing T) ends at t = 0 too: the step from t = 0 into the clean data is a fixed step, not
  refined with NFE; DDIM and Euler take it as the data prediction at t = 0 and so does the reference;
- the linear tau starts at T - T/S, not at T - 1: its reference starts there, from the same x_T.
The reference: UniPC-3 (bh2, with its corrector, lower_order_final off: order 3, 4 away from the warm-up) over
`reference_steps` steps uniform in lambda from the start to t = 0, then the data prediction at t = 0 for a grid
ending at the clean data. Its error bound is the RMS difference from the same solve at half the steps.

The mixture: `demo_mixture`'s weights and means with its stds (0.05, 0.1, 0.2) widened `SMOOTH_STD_SCALE` times.
With the narrow demo components the flow map is nearly discontinuous at the borders between modes: a point of x_T
near one lands in another mode under a coarse solve (seed 0, 256 points in D = 8: one point, until NFE ~500 for
DDIM), and that single point dominates the RMS. The theory's order is an asymptotic statement for step sizes small
against the scale on which the flow varies; the widened mixture brings that regime into NFE 40-320.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from ddim_eval.report.figures import plain_log_ticks
from ddim_eval.sampling.common import EpsModel, eval_eps
from ddim_eval.sampling.oracle import GaussianMixture, demo_mixture, mixture_eps_model
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import sampler_spec
from ddim_eval.sampling.schedule import make_alphas_cumprod
from ddim_eval.sampling.times import TimeGrid, grid_at, time_of_lambda
from ddim_eval.sampling.uni_pc import unipc

SMOOTH_STD_SCALE = 4.0
REFERENCE_STEPS = 2000
END_TOLERANCE = 1e-6  # how far from t = 0 a grid's end node may lie (karras: time_of_lambda's rounding)
FIT_RANGE = (35, 350)  # NFE range of the slope fits


class Case(NamedTuple):
    title: str  # how tables and figures name it
    entry: dict[str, Any]  # a config entry for `prepare` (registered name or a user's function)
    budgets: tuple[int, ...]  # NFE budgets
    nominal: float  # the order its paper / construction claims (for the table; the study measures)


def study_mixture(dim: int = 8, std_scale: float = SMOOTH_STD_SCALE) -> GaussianMixture:
    """`demo_mixture` in `dim` dimensions with its component stds multiplied by `std_scale`."""
    demo = demo_mixture((dim,))
    return GaussianMixture(demo.weights, demo.means, demo.stds * std_scale)


def budgets_for_steps(entry: dict[str, Any], steps: Sequence[int]) -> tuple[int, ...]:
    """The NFE budgets that give a sampler `steps` grid steps (PLMS spends one evaluation more, F-PNDM nine): for
    the paper's linear tau with S dividing T, a uniform grid ending at t = 0."""
    spec = sampler_spec(entry)
    probe = spec.plan(max(steps) + 100)
    return tuple(int(s) + probe.nfe - probe.steps for s in steps)


def default_cases(budgets: Sequence[int] = (40, 80, 160, 320), steps: Sequence[int] = (40, 100, 250)) -> list[Case]:
    """The study's samplers: the continuous ones on the logSNR grid (DEIS too, whose default is time_quadratic: one
    grid for all) and Karras' at `budgets`; the discrete ones on the paper's linear tau with `steps` steps (each
    dividing T, so that the grid is uniform and ends at t = 0). Singlestep DPM-Solver takes steps of its order only
    (the "fast" schedule ends with lower orders). lower_order_final is off: it lowers the multistep solvers' last
    orders (UniPC at any step count: its last step first order, a global O(h^2), though of small weight at t = 0
    for a data prediction; the case "UniPC-3, lower_order_final" measures it)."""
    logsnr = {"spacing": "logSNR"}
    continuous = [
        ("DPM-Solver++(2M)", {"name": "dpm_solver_pp", "params": {"order": 2, "lower_order_final": False}}, 2),
        ("DPM-Solver++(3M)", {"name": "dpm_solver_pp", "params": {"order": 3, "lower_order_final": False}}, 3),
        ("DPM-Solver++(3M), corrected", {"name": "dpm_solver_pp", "params": {
            "order": 3, "lower_order_final": False, "third_order": "corrected"}}, 3),
        ("DPM-Solver-2 (singlestep)", {"name": "dpm_solver", "params": {"order": 2, "method": "singlestep"}}, 2),
        ("DPM-Solver-3 (singlestep)", {"name": "dpm_solver", "params": {"order": 3, "method": "singlestep"}}, 3),
        ("UniPC-3 (bh2)", {"name": "unipc", "params": {"order": 3, "lower_order_final": False}}, 4),
        ("UniPC-3, lower_order_final", {"name": "unipc", "params": {"order": 3, "lower_order_final": True}}, 4),
        ("UniP-3 (no corrector)", {"function": "ddim_eval.sampling.uni_pc:unipc", "grid": "continuous",
                                   "label": "UniP-3", "params": {"order": 3, "variant": "bh2",
                                                                 "lower_order_final": False, "corrector": False}}, 3),
        ("DEIS tAB2", {"name": "deis", "params": {"order": 3}} | logsnr, 3),
        ("DEIS tAB3", {"name": "deis", "params": {"order": 4}} | logsnr, 4),
        ("PLMS, logSNR grid", {"function": "ddim_eval.sampling.pndm:plms", "grid": "continuous", "label": "PLMS"}
         | logsnr, 4),
        ("Euler (Karras)", {"name": "euler"}, 1),
        ("Heun (Karras)", {"name": "heun"}, 2),
    ]
    discrete = [("DDIM (eta 0)", {"name": "ddim"}, 1), ("PLMS", {"name": "plms"}, 4), ("F-PNDM", {"name": "fpndm"}, 4)]
    return [Case(t, e, tuple(budgets), p) for t, e, p in continuous] + \
        [Case(t, e, budgets_for_steps(e, steps), p) for t, e, p in discrete]


def log_snr_grid(alphas_cumprod: np.ndarray, t_start: float, steps: int) -> TimeGrid:
    """`steps` steps uniform in lambda from network time `t_start` to t = 0 (ends exact)."""
    ends = grid_at(alphas_cumprod, np.array([t_start, 0.0]), to_data=False).lambdas
    t = time_of_lambda(alphas_cumprod, np.linspace(ends[0], ends[1], steps + 1))
    t[0], t[-1] = t_start, 0.0
    return grid_at(alphas_cumprod, t, to_data=False)


def rms(x: Tensor, y: Tensor) -> float:
    return float(((x - y) ** 2).mean().sqrt())


def _end_kind(grid: TimeGrid) -> bool:
    """True for a grid ending at the clean data through t = 0, False for one ending at t = 0; ValueError else."""
    to_data = bool(grid.sigma[-1] == 0)
    end = grid.t[-2] if to_data else grid.t[-1]
    if not abs(end) < END_TOLERANCE:
        raise ValueError(f"the study's references end at t = 0 (then, for a grid ending at the clean data, the data "
                         f"prediction there); this grid ends at network times {grid.t[-2:].tolist()}")
    return to_data


class References:
    """The reference solution per start time (cached), at t = 0 or at the clean data."""

    def __init__(self, eps_model: EpsModel, x_T: Tensor, alphas_cumprod: np.ndarray, steps: int = REFERENCE_STEPS):
        self.eps_model, self.x_T, self.alphas, self.steps = eps_model, x_T, alphas_cumprod, steps
        self.at_t0: dict[float, tuple[Tensor, float]] = {}  # start time -> (x at t = 0, error bound)

    def _solve(self, t_start: float, steps: int) -> Tensor:
        grid = log_snr_grid(self.alphas, t_start, steps)
        return unipc(self.eps_model, self.x_T, grid, order=3, variant="bh2", lower_order_final=False)

    def get(self, grid: TimeGrid) -> Tensor:
        to_data = _end_kind(grid)
        t_start = round(float(grid.t[0]), 6)
        if t_start not in self.at_t0:
            x = self._solve(t_start, self.steps)
            self.at_t0[t_start] = (x, rms(x, self._solve(t_start, self.steps // 2)))
        x = self.at_t0[t_start][0]
        if not to_data:
            return x
        # The step from t = 0 into the clean data: DDIM's into alpha = 1 and Euler's into s = 0 alike.
        node = grid_at(self.alphas, np.array([0.0]), to_data=False)
        return (x - float(node.sigma[0]) * eval_eps(self.eps_model, x, 0.0)) / float(node.alpha[0])

    @property
    def bound(self) -> float:
        """The largest error bound over the references made so far."""
        return max(b for _, b in self.at_t0.values())


def fit_order(nfe: Sequence[int], errors: Sequence[float], fit_range: tuple[float, float] = FIT_RANGE) -> float:
    """Minus the least-squares slope of log error on log NFE over the points with NFE in `fit_range`."""
    points = [(n, e) for n, e in zip(nfe, errors) if fit_range[0] <= n <= fit_range[1]]
    if len(points) < 2:
        raise ValueError(f"need at least two runs with NFE in {fit_range}; got NFE {list(nfe)}")
    n, e = np.log(np.array(points, dtype=np.float64)).T
    return float(-np.polyfit(n, e, 1)[0])


def _counting(eps_model: EpsModel) -> tuple[EpsModel, list[int]]:
    calls = [0]

    def counted(x: Tensor, t: Tensor) -> Tensor:
        calls[0] += 1
        return eps_model(x, t)

    return counted, calls


def _measure(case: Case, eps_model: EpsModel, x_T: Tensor, refs: References, alphas: np.ndarray
             ) -> dict[str, Any]:
    nfe, errors, spacing = [], [], None
    for budget in case.budgets:
        run = prepare(case.entry, budget, alphas, "linear")
        counted, calls = _counting(eps_model)
        x = run(counted, x_T)
        if "name" in case.entry and calls[0] != run.nfe:
            raise RuntimeError(f"{case.title}: {calls[0]} evaluations at budget {budget}, the registry says {run.nfe}")
        nfe.append(calls[0])
        errors.append(rms(x, refs.get(run.grid)))
        spacing = run.spacing
    log_n, log_e = np.log(nfe), np.log(errors)
    return {"title": case.title, "entry": case.entry, "spacing": spacing, "nominal": case.nominal, "nfe": nfe,
            "error": errors, "local_slopes": (-np.diff(log_e) / np.diff(log_n)).tolist()}


def convergence_study(cases: Sequence[Case], *, mixture: GaussianMixture | None = None, n: int = 256, seed: int = 0,
                      fit_range: tuple[float, float] = FIT_RANGE, reference_steps: int = REFERENCE_STEPS,
                      alphas_cumprod: np.ndarray | None = None) -> dict[str, Any]:
    """Run every case at its budgets from one float64 x_T ~ N(0, I) [n, D] with the mixture's exact eps (default:
    `study_mixture()`), and measure errors and slopes. Returns a JSON-able record: "rows" (per case: title,
    entry, spacing, nominal order, NFE, errors, local slopes, "order" fitted over `fit_range`) and the setting."""
    mixture = study_mixture() if mixture is None else mixture
    alphas = make_alphas_cumprod() if alphas_cumprod is None else np.asarray(alphas_cumprod, dtype=np.float64)
    eps_model = mixture_eps_model(mixture, alphas)
    x_T = torch.randn(n, mixture.dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    refs = References(eps_model, x_T, alphas, reference_steps)
    rows = []
    for case in cases:
        row = _measure(case, eps_model, x_T, refs, alphas)
        rows.append(row | {"order": fit_order(row["nfe"], row["error"], fit_range)})
    setting = {"n": n, "dim": mixture.dim, "seed": seed, "stds": mixture.stds.tolist(), "fit_range": list(fit_range),
               "reference": f"UniPC-3 (bh2), {reference_steps} steps uniform in lambda",
               "reference_error_bound": refs.bound, "reference_starts": sorted(refs.at_t0)}
    return {"setting": setting, "rows": rows}


def slope_table(record: dict[str, Any]) -> str:
    """The record's slopes as a Markdown table."""
    lo, hi = record["setting"]["fit_range"]
    lines = ["| sampler | grid spacing | NFE fitted | slope (order) | nominal order | local slopes |",
             "|---|---|---|---|---|---|"]
    for r in record["rows"]:
        fitted = [v for v in r["nfe"] if lo <= v <= hi]
        local = " ".join(f"{v:.2f}" for v in r["local_slopes"])
        lines.append(f"| {r['title']} | {r['spacing']} | {fitted[0]}-{fitted[-1]} | {r['order']:.2f} | "
                     f"{r['nominal']:g} | {local} |")
    return "\n".join(lines)


GUIDE_ORDERS = (1, 2, 3, 4)


def convergence_figure(panels: dict[str, dict[str, Any]]) -> plt.Figure:
    """A log-log panel of RMS error against NFE per record of `convergence_study`
    (one line per sampler, its fitted order in the legend, the fit range shaded, dashed guides of orders 1-4
    fanning out over it)."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 5.5 * len(panels)), squeeze=False)
    colors = plt.get_cmap("tab20")(np.linspace(0, 1, 20))
    for ax, (name, record) in zip(axes[:, 0], panels.items()):
        rows, fit_range = record["rows"], record["setting"]["fit_range"]
        for i, r in enumerate(rows):
            ax.plot(r["nfe"], r["error"], "o-", ms=3, lw=1.2, color=colors[i % 20],
                    label=f"{r['title']}: {r['order']:.2f}")
        _guides(ax, fit_range, rows)
        ax.axvspan(*fit_range, color="0.94", zorder=0)
        ax.set(xscale="log", yscale="log", xlabel="NFE (network evaluations)", ylabel="RMS error of the final sample",
               title=name)
        plain_log_ticks(ax)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="sampler: fitted order",
                  title_fontsize=7)
    return fig


def _guides(ax: Any, fit_range: Sequence[float], rows: list[dict[str, Any]]) -> None:
    # A fan from one point above every line at the fit range's start, so that each guide stays clear of the data
    # of its own order.
    x0, x1 = fit_range
    y0 = 3 * max(max(e for n, e in zip(r["nfe"], r["error"]) if n >= x0) for r in rows)
    for p in GUIDE_ORDERS:
        y1 = y0 * (x0 / x1) ** p
        ax.plot([x0, x1], [y0, y1], "--", color="0.45", lw=0.9)
        ax.annotate(f"order {p}", (x1, y1), xytext=(3, 0), textcoords="offset points", fontsize=7, color="0.3",
                    va="center")
