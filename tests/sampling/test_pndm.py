"""PLMS and F-PNDM against diffusers' PNDMScheduler, their exact NFE, and the pseudo methods' small facts.

Where they meet: linear betas (T = 1000, 1e-4 to 0.02), "leading" spacing with S dividing T (our `linear` tau), no
offset, set_alpha_to_one, eps prediction; diffusers given our float64 alphas_cumprod (its own is float32).
"""

import math

import numpy as np
import pytest
import torch
from diffusers import PNDMScheduler

from ddim_eval.sampling.ddim import ddim_sampler, ddim_step
from ddim_eval.sampling.oracle import demo_mixture, mixture_eps_model
from ddim_eval.sampling.pndm import fpndm, midpoint_nodes, plms, pndm_walk
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import SAMPLERS
from ddim_eval.sampling.schedule import make_alphas_cumprod
from ddim_eval.sampling.times import Node, coefficients, continuous_grid, discrete_grid, grid_at, karras_grid, nodes

from helpers import tiny_unet

SHAPE = (4, 1, 4, 4)
ALPHAS = make_alphas_cumprod()
T = len(ALPHAS)
SAMPLER = {True: plms, False: fpndm}  # skip_prk_steps -> ours


def oracle_model():
    return mixture_eps_model(demo_mixture(SHAPE[1:]), ALPHAS)


def x_T(shape=SHAPE, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def scheduler(S, skip_prk_steps):
    s = PNDMScheduler(num_train_timesteps=T, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
                      skip_prk_steps=skip_prk_steps, set_alpha_to_one=True, steps_offset=0, timestep_spacing="leading")
    s.alphas_cumprod = torch.from_numpy(ALPHAS)  # float64, so that the comparison is of the method, not rounding
    s.set_timesteps(S)
    return s


def diffusers_sample(eps_model, x, S, skip_prk_steps):
    s = scheduler(S, skip_prk_steps)
    for t in s.timesteps:
        x = s.step(eps_model(x, t.expand(x.shape[0])), t, x).prev_sample
    return x


def diffusers_grid(S):
    """Our grid through diffusers' timesteps, then the clean data."""
    ts = scheduler(S, True)._timesteps
    return grid_at(ALPHAS, np.array(ts[::-1], dtype=np.float64), to_data=True)


def counting(eps_model):
    calls = []

    def model(x, t):
        calls.append(float(t[0]))
        return eps_model(x, t)

    return model, calls


# --- diffusers


@pytest.mark.parametrize("S", [4, 5, 8, 10, 40])
@pytest.mark.parametrize("name, skip_prk_steps", [("plms", True), ("fpndm", False)])
def test_plan_matches_diffusers_call_count(S, name, skip_prk_steps):
    # PNDMScheduler calls the model len(timesteps) times for S inference steps: S + 1 (PLMS), S + 9 (PRK warm-up).
    plan = SAMPLERS[name].plan(len(scheduler(S, skip_prk_steps).timesteps), {}, None)
    assert plan.steps == S


@pytest.mark.parametrize("S", [4, 8, 50])
def test_plms_matches_pndm_scheduler(S):
    # Measured max |diff| <= 1.5e-14 (float64).
    eps_model, x = oracle_model(), x_T()
    ours = plms(eps_model, x, diffusers_grid(S))
    torch.testing.assert_close(ours, diffusers_sample(eps_model, x, S, True), atol=1e-5, rtol=0)


@pytest.mark.parametrize("S", [4, 10, 50])
def test_fpndm_matches_pndm_scheduler_for_an_even_stride(S):
    # T // S even: diffusers' integer half step t - T // S // 2 is the midpoint. Measured max |diff| <= 2e-14.
    eps_model, x = oracle_model(), x_T()
    ours = fpndm(eps_model, x, diffusers_grid(S))
    torch.testing.assert_close(ours, diffusers_sample(eps_model, x, S, False), atol=1e-5, rtol=0)


@pytest.mark.parametrize("skip_prk_steps", [True, False])
def test_matches_pndm_scheduler_with_a_network(skip_prk_steps):
    # A random U-Net is no denoiser: compare relative to the output's scale, in float64.
    _, eps_model = tiny_unet(dtype=torch.float64)
    x = x_T((1, 3, 8, 8))
    ours = SAMPLER[skip_prk_steps](eps_model, x, diffusers_grid(4))
    peer = diffusers_sample(eps_model, x, 4, skip_prk_steps)
    assert (ours - peer).abs().max() / peer.abs().max() < 1e-5


def diffusers_rk(grid, stride):
    """diffusers' Runge-Kutta nodes, h = stride // 2: the network's mid time t' + h at its own alpha, the first
    predictor moved to alpha(t - h) though evaluated at t' + h."""
    rk, half = [], stride // 2
    for src in nodes(grid)[:3]:
        mid = src.t - stride + half
        (a_mid, a_first), (s_mid, s_first) = coefficients(ALPHAS, np.array([mid, src.t - half]))
        rk.append((Node(mid, a_mid, s_mid, math.log(a_mid) - math.log(s_mid)),
                   Node(mid, a_first, s_first, math.log(a_first) - math.log(s_first))))
    return rk


def test_fpndm_odd_stride_differs_from_pndm_scheduler_only_in_the_half_step():
    """With T // S odd (S = 8: stride 125), diffusers has no midpoint node: it evaluates the mid stages at the
    integer t' + 62 = t - 63 (at that timestep's alpha) and transfers the first predictor to alpha(t - 62). We (like
    the authors) use the midpoint t - 62.5, with alpha interpolated. The outputs differ by more than 1e-4 (measured
    7.6e-4); putting diffusers' nodes into our walk makes them agree to 1e-5 (measured 1.2e-14)."""
    S, stride = 8, T // 8
    eps_model, x, grid = oracle_model(), x_T(), diffusers_grid(S)
    peer = diffusers_sample(eps_model, x, S, False)
    assert (fpndm(eps_model, x, grid) - peer).abs().max() > 1e-4
    torch.testing.assert_close(pndm_walk(eps_model, x, nodes(grid), diffusers_rk(grid, stride)), peer,
                               atol=1e-5, rtol=0)


# --- NFE


@pytest.mark.parametrize("name, spacing, budgets", [
    ("plms", None, [5, 6, 9, 11, 26]),  # linear tau: S = budget - 1 divides T
    ("fpndm", None, [13, 14, 17, 19, 29]),
    ("plms", "quadratic", [5, 7, 8, 16]),
    ("fpndm", "quadratic", [13, 15, 16]),
    ("plms", "trailing", [7, 12]),
    ("fpndm", "logSNR", [14, 20]),
])
def test_nfe_is_exact(name, spacing, budgets):
    eps_model = oracle_model()
    for budget in budgets:
        entry = {"name": name, "params": {}} | ({"spacing": spacing} if spacing else {})
        run = prepare(entry, budget, ALPHAS)
        model, calls = counting(eps_model)
        out = run(model, x_T())
        assert len(calls) == run.nfe == budget
        assert torch.isfinite(out).all()


def test_nfe_is_exact_when_the_linear_tau_holds_an_extra_step():
    run = prepare({"name": "plms"}, 8, ALPHAS)  # S = 7: range(0, 1000, 142) holds 8 timesteps
    model, calls = counting(oracle_model())
    run(model, x_T())
    assert len(calls) == run.nfe == 9


@pytest.mark.parametrize("name, least", [("plms", 5), ("fpndm", 13)])
def test_too_small_budgets_raise(name, least):
    for budget in (1, least - 1):
        with pytest.raises(ValueError, match="too small"):
            prepare({"name": name}, budget, ALPHAS)
    assert prepare({"name": name}, least, ALPHAS).nfe == least


def test_fpndm_evaluates_at_the_midpoints():
    # Quadratic tau has odd gaps: the mid time is fractional, (t + t') / 2, four evaluations per warm-up step.
    grid = discrete_grid(ALPHAS, 7, "quadratic")  # t = 800, 555, 355, 200, ...
    model, calls = counting(oracle_model())
    fpndm(model, x_T(), grid)
    t = grid.t.tolist()
    mids = [(a + b) / 2 for a, b in zip(t, t[1:4])]
    assert any(m != round(m) for m in mids)
    assert calls == [v for i in range(3) for v in (t[i], mids[i], mids[i], t[i + 1])] + t[3:-1]
    assert [n.t for n in midpoint_nodes(grid)[:3]] == mids


# --- the pseudo methods


def test_constant_eps_reduces_to_ddim():
    # Multistep and RK weights each sum to 1, so with eps independent of x and t every method is DDIM (eta = 0).
    noise = x_T(seed=1)

    def const(x, t):
        return noise

    grid, x = discrete_grid(ALPHAS, 10, "quadratic"), x_T()
    ddim = ddim_sampler(const, x, grid)
    for fn in (plms, fpndm):
        torch.testing.assert_close(fn(const, x, grid), ddim, atol=1e-12, rtol=0)


def ddim(eps_model, x, grid):
    for t, a, a_next in zip(grid.t, grid.alpha**2, grid.alpha[1:] ** 2):
        x, _ = ddim_step(x, eps_model(x, torch.full((x.shape[0],), t, dtype=torch.float64)), a, a_next)
    return x


def test_higher_order_convergence():
    # From t = 960 to t = 200 (a smooth stretch of the exact mixture eps), against 760-step F-PNDM: at 40 steps the
    # pseudo methods' error is a small fraction of DDIM's (measured 0.018), and halving the steps multiplies it by
    # far more than DDIM's first-order 2 (measured 9.6 against 2.1).
    eps_model, x = oracle_model(), x_T()
    reference = fpndm(eps_model, x, grid_at(ALPHAS, np.linspace(960, 200, 761), to_data=False))
    coarse, fine = (grid_at(ALPHAS, np.linspace(960, 200, n + 1), to_data=False) for n in (20, 40))
    ddim_err = [(ddim(eps_model, x, g) - reference).abs().max() for g in (coarse, fine)]
    assert ddim_err[0] / ddim_err[1] < 2.5
    for fn in (plms, fpndm):
        err = [(fn(eps_model, x, g) - reference).abs().max() for g in (coarse, fine)]
        assert err[1] < 0.05 * ddim_err[1] and err[0] / err[1] > 6


@pytest.mark.parametrize("make_grid", [
    lambda: continuous_grid(ALPHAS, 8, "logSNR"),  # ends at t = 0, sigma > 0
    lambda: karras_grid(ALPHAS, 8),  # ends at sigma = 0, t = NaN
])
def test_other_grid_ends(make_grid):
    grid, eps_model, x = make_grid(), oracle_model(), x_T()
    for fn, extra in ((plms, 1), (fpndm, 9)):
        model, calls = counting(eps_model)
        out = fn(model, x, grid)
        assert torch.isfinite(out).all() and len(calls) == grid.steps + extra
        assert not any(math.isnan(c) for c in calls)


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_short_grids_never_evaluate_the_clean_data(steps):
    # Warm-up steps into the clean data fall back to the multistep eps they have (a one-step grid is DDIM).
    grid, eps_model, x = discrete_grid(ALPHAS, steps, "quadratic"), oracle_model(), x_T()
    for fn in (plms, fpndm):
        model, calls = counting(eps_model)
        out = fn(model, x, grid)
        assert torch.isfinite(out).all() and not any(math.isnan(c) for c in calls)
    if steps == 1:
        torch.testing.assert_close(plms(eps_model, x, grid), ddim_sampler(eps_model, x, grid), atol=1e-12, rtol=0)
        torch.testing.assert_close(fpndm(eps_model, x, grid), ddim_sampler(eps_model, x, grid), atol=1e-12, rtol=0)
