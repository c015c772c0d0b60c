"""Convergence orders on the exact Gaussian-mixture oracle (`benchmarks/convergence_study.py`): the slope of log RMS
error against log NFE, fitted over NFE 35-350, from one x_T (256 points, D = 8, seed 0, demo_mixture widened 4x).

What the theory predicts, and the tolerances:
- Settled samplers, |fitted - p| <= 0.3. Over seeds 0-2 and D = 4, 8, 16 the fitted slopes stayed within 0.11 of
  p, except DPM-Solver++(3M) and PLMS / F-PNDM on the linear tau (up to 0.23, crossing over between two terms).
  DDIM and Euler p = 1; Heun, DPM-Solver++(2M) and DPM-Solver-2 p = 2.
  DPM-Solver++(3M) p = 2, not 3: its update (the authors' and diffusers') weighs the second difference
  D2 = (D1_0 - D1_1) / (r0 + r1) ~ h^2 x0''/2 by alpha_t phi_3, where the third-order Taylor term needs
  alpha_t phi_3 h^2 x0'' (the singlestep 'taylor' update defines D2 with the factor 2). The missing
  alpha_t phi_3 h^2 x0''/2 ~ h^3 x0''/12 is a local error O(h^3): a global O(h^2). With D2 doubled
  (third_order="corrected", under the higher orders below) the update equals UniP-3 (bh2) to 1e-13 and its slope is
  2.9 over NFE 160-640 (local slopes 2.32, 2.77, 2.91 over NFE 40-320). The fitted 2.17 is the crossover from
  its h^3 terms (local slopes 2.29, 2.17, 2.05; 2.00 past NFE 320).
  PLMS on a logSNR grid p = 2: the Adams-Bashforth weights average eps uniformly in the grid's variable, while
  the DDIM transfer integrates it against d(sigma/alpha); the mismatch is O(h^2) in the averaged eps, O(h^3) locally.
  PLMS and F-PNDM on the paper's linear tau, to the clean data, p = 1: the last step, from t = 0 into the clean
  data, takes the four-step extrapolated eps (made for a step of T/S timesteps) where DDIM takes eps(x, 0): an
  O(T/S) error in the data prediction (test_plms_loses_its_order_in_the_step_into_the_clean_data).
- Higher orders approach p from below over NFE 40-320 (the next term of their error expansion is not negligible
  yet: the local slopes mostly climb along the range), so: p - 0.7 <= fitted <= p + 0.3 (clear of the next lower
  order by 0.3) and the slope of the last doubling (NFE 160 -> 320) within 0.3 of p.
  UniPC-3 (bh2, with its corrector) p = 4: the UniPC paper's UniC-p raises UniP-p's order by one; its warm-up steps
  (orders 1 and 2 with their correctors) add an O(h^3) term of tiny weight (taken at t = T - 1); the local slope
  reaches 4.0 at NFE 640-1280 (benchmarks/results/convergence_order.md). UniP-3, DPM-Solver-3 (singlestep) and
  DEIS tAB2 p = 3, DEIS tAB3 p = 4.
lower_order_final is off everywhere: it lowers the last steps' orders (the authors' DPM-Solver++ only below 10
steps, a no-op here; UniPC at any step count, its last step first order: O(h^2) globally). For a data-prediction
solver that term is small at t = 0 (the data prediction hardly moves there): UniPC-3 with it stays within 1.5x of
UniPC-3 without over the range, and its slope falls towards 2 only past NFE 320.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from convergence_study import (
    References,
    budgets_for_steps,
    convergence_figure,
    convergence_study,
    default_cases,
    fit_order,
    rms,
    slope_table,
    study_mixture,
)

from ddim_eval.report.figures import save_figure
from ddim_eval.sampling.oracle import mixture_eps_model
from ddim_eval.sampling.pndm import plms
from ddim_eval.sampling.schedule import make_alphas_cumprod
from ddim_eval.sampling.times import discrete_grid, grid_at

from helpers import ROOT

TOLERANCE = 0.3
SETTLED = {"DDIM (eta 0)": 1, "Euler (Karras)": 1, "Heun (Karras)": 2, "DPM-Solver++(2M)": 2,
           "DPM-Solver-2 (singlestep)": 2, "DPM-Solver++(3M)": 2, "PLMS, logSNR grid": 2, "PLMS": 1, "F-PNDM": 1}
RISING = {"UniPC-3 (bh2)": 4, "UniP-3 (no corrector)": 3, "DPM-Solver-3 (singlestep)": 3, "DEIS tAB2": 3,
          "DEIS tAB3": 4, "DPM-Solver++(3M), corrected": 3}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # The tensors are tiny ([256, 8]): more threads only wait on each other (20x slower on a busy 2-core machine).
    # torch.set_num_threads is process-wide: restored after this module.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def study(one_thread):
    record = convergence_study(default_cases())
    print("\n" + slope_table(record))  # pytest -s shows the measured table
    return record


def _row(study, title):
    return next(r for r in study["rows"] if r["title"] == title)


@pytest.mark.parametrize("title", SETTLED)
def test_settled_orders(study, title):
    row = _row(study, title)
    assert abs(row["order"] - SETTLED[title]) <= TOLERANCE, (row["nfe"], row["error"], row["order"])


@pytest.mark.parametrize("title", RISING)
def test_higher_orders_approach_theirs_from_below(study, title):
    row, p = _row(study, title), RISING[title]
    assert p - 1 + TOLERANCE <= row["order"] <= p + TOLERANCE, (row["nfe"], row["error"], row["order"])
    assert abs(row["local_slopes"][-1] - p) <= TOLERANCE, row["local_slopes"]


def test_lower_order_final_costs_little_at_t0(study):
    plain, lowered = _row(study, "UniPC-3 (bh2)")["error"], _row(study, "UniPC-3, lower_order_final")["error"]
    assert all(b <= 1.5 * a for a, b in zip(plain, lowered)), (plain, lowered)


def test_every_case_measured_and_the_reference_converged(study):
    assert {r["title"] for r in study["rows"]} == set(SETTLED) | set(RISING) | {"UniPC-3, lower_order_final"}
    # The bound is the 1000-step solve's error (the 2000-step reference's own is ~16x smaller, order 4 here); 3% of
    # the smallest error moves a log error by < 0.03, a slope over NFE 40-320 by < 0.015.
    smallest = min(e for r in study["rows"] for n, e in zip(r["nfe"], r["error"]) if 35 <= n <= 350)
    assert study["setting"]["reference_error_bound"] < 0.03 * smallest
    # One reference per start: t = T - 1 for the continuous and Karras grids, T - T/S for the paper's linear tau.
    assert study["setting"]["reference_starts"] == [975.0, 990.0, 996.0, 999.0]


def test_plms_loses_its_order_in_the_step_into_the_clean_data():
    """PLMS over the paper's linear tau, to t = 0 (the grid without its clean-data node) and on to the clean data:
    the last step dominates the error at S = 250 and flattens the slope (to t = 0 the slope climbs towards 2 as
    the uniform-in-t steps resolve the stiff end, 1.3 over S = 100-250)."""
    alphas = make_alphas_cumprod()
    eps_model = mixture_eps_model(study_mixture(), alphas)
    x_T = torch.randn(256, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    refs = References(eps_model, x_T, alphas, steps=1000)
    to_data, to_t0 = [], []
    for S in (100, 250):
        grid = discrete_grid(alphas, S, "linear")
        short = grid_at(alphas, grid.t[:-1], to_data=False)
        to_data.append(rms(plms(eps_model, x_T, grid), refs.get(grid)))
        to_t0.append(rms(plms(eps_model, x_T, short), refs.get(short)))
    assert 3 * to_t0[1] < to_data[1]
    assert fit_order((100, 250), to_t0) > fit_order((100, 250), to_data) + TOLERANCE


def test_fit_order_and_budgets():
    nfe = [10, 20, 40, 80, 1000]
    errors = [3.0 * n**-2.5 for n in nfe[:4]] + [1.0]  # the last one outside the range
    assert fit_order(nfe, errors, (10, 100)) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="at least two"):
        fit_order(nfe, errors, (50, 100))
    assert budgets_for_steps({"name": "fpndm"}, (40, 100)) == (49, 109)
    assert budgets_for_steps({"name": "ddim"}, (40,)) == (40,)


def test_reference_refuses_a_grid_that_does_not_end_at_t0():
    alphas = make_alphas_cumprod()
    refs = References(mixture_eps_model(study_mixture(4), alphas), torch.zeros(2, 4, dtype=torch.float64), alphas)
    with pytest.raises(ValueError, match="end at t = 0"):
        refs.get(discrete_grid(alphas, 10, "trailing"))  # ends at t = 99, then the clean data


def test_figure_is_written_atomically(study, tmp_path):
    png, pdf = save_figure(convergence_figure({"smooth": study}), tmp_path / "orders")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.pdf", "orders.png"]
    assert np.isfinite([r["order"] for r in study["rows"]]).all()


def test_the_upstream_reproduction_still_shows_the_missing_factor(tmp_path):
    """benchmarks/dpmpp_3m_diffusers.py, the stand-alone report for diffusers (docs: "DPM-Solver++(3M)"), against the
    installed diffusers: its 3M is second order on a lambda-uniform grid and the corrected update third. If diffusers
    fixes its update, this fails, and the docs page and the report need updating."""
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks/dpmpp_3m_diffusers.py"), "--out",
                             str(tmp_path / "r")], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    case = json.loads((tmp_path / "r.json").read_text())["cases"]["lambda-uniform"]
    assert abs(case["slope_authors"] - 2) <= TOLERANCE and abs(case["local_slopes_authors"][-1] - 2) <= 0.1
    assert abs(case["slope_corrected"] - 3) <= TOLERANCE and abs(case["local_slopes_corrected"][-1] - 3) <= 0.1
