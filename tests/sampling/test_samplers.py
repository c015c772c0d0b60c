"""Samplers as data: the registry's specs, labels and NFE plans, a user's sampler, the time grids, and the run
binding (`ddim_eval.sampling.samplers`, `times`, `run`)."""

import math

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler

from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import SAMPLERS, paper_entry, sampler_spec
from ddim_eval.sampling.schedule import make_alphas_cumprod
from ddim_eval.sampling.times import coefficients, time_grid, time_of_lambda, timesteps

ALPHAS = make_alphas_cumprod()


def user_sampler(eps_model, x_T, grid, *, generator=None, gain=1.0):
    return gain * x_T


def test_labels_name_the_sampler_and_its_changed_parameters():
    assert sampler_spec("ddim").label == "ddim"
    assert sampler_spec({"name": "unipc", "params": {"order": 3}}).label == "unipc-order=3"
    assert sampler_spec({"name": "unipc", "params": {"order": 2, "variant": "bh1"}}).label == "unipc-variant=bh1"
    assert sampler_spec({"name": "heun", "label": "edm"}).label == "edm"
    # The paper tables' variants are DDIM at an eta and the official sigma_hat update.
    legacy = sampler_spec(paper_entry(0.5))
    assert (legacy.label, legacy.definition.name, legacy.params) == ("ddim-eta=0.5", "ddim", {"eta": 0.5})
    assert sampler_spec("sigma_hat").definition.name == "sigma_hat"
    assert sampler_spec("dpm_solver_pp").title == "DPM-Solver++(2M)" and sampler_spec("deis").title == "DEIS tAB3"


@pytest.mark.parametrize("entry, message", [
    ("dpm_solver_ppp", r"sampler 'dpm_solver_ppp' is not registered; registered: \['ddim', 'deis'"),
    ({"name": "unipc", "params": {"order": 4}}, r"sampler 'unipc'.order: 4 is not allowed; allowed: \[1, 2, 3\]"),
    ({"name": "unipc", "params": {"order": True}}, r"order: True is not allowed"),
    ({"name": "ddim", "params": {"eta": -1}}, r"eta: -1 is not allowed; allowed: a number >= 0.0"),
    ({"name": "heun", "params": {"rho": 7}}, r"unknown parameter\(s\) \['rho'\] of sampler 'heun'; allowed: none"),
    ({"name": "dpm_solver", "spacing": "quadratic"}, r"spacing 'quadratic' is not one of a continuous grid's"),
    ({"name": "ddim", "function": "a.b:c"}, r"give either name .* or function"),
    ({"name": "ddim", "label": "a b"}, r"sampler label 'a b' must be"),
    ({"function": "json"}, r"sampler function 'json' must read 'package.module:function'"),
    ({"function": f"{__name__}:user_sampler", "grid": "sigma"}, r"grid 'sigma' is unknown"),
    ({"name": "unipc", "params": {"order": 2.0}}, r"order: 2.0 is not allowed; allowed: \[1, 2, 3\]"),
    ({"name": "ddim", "label": ".."}, r"sampler label '..' must be .* at least one letter or digit"),
    (5, r"sampler entry 5 is neither a name nor a mapping"),
    (["ddim"], r"sampler entry \['ddim'\] is neither a name nor a mapping"),
    ("eta=abc", r"could not convert|eta=abc"),
])
def test_bad_entries_name_what_is_wrong(entry, message):
    with pytest.raises(ValueError, match=message):
        sampler_spec(entry)


@pytest.mark.parametrize("name, budget, least", [("dpm_solver_pp", 1, 2), ("heun", 2, 3),
                                                 ("plms", 4, 5), ("fpndm", 12, 13), ("deis", 3, 4)])
def test_budgets_below_the_order_or_warm_up_are_refused(name, budget, least):
    spec = sampler_spec(name)
    with pytest.raises(ValueError, match=f"sampler '{name}': NFE must be a positive integer, got 0"):
        spec.plan(0)
    with pytest.raises(ValueError, match=f"sampler '{name}': NFE {budget} is too small"):
        spec.plan(budget)
    assert spec.plan(least).nfe == least


def test_every_registered_sampler_runs_its_exact_nfe():
    x_T = torch.randn(3, 1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for name in SAMPLERS:
        for budget in (13, 20):  # (the quadratic tau holds exactly S steps; see below for the linear one)
            calls = []
            run = prepare(name, budget, ALPHAS, "quadratic")
            out = run(lambda x, t: calls.append(1) or 0.1 * x, x_T)
            assert len(calls) == run.nfe <= budget and torch.isfinite(out).all(), name
            assert run.describe()["nfe"] == run.nfe and run.describe()["sampler"] == name


@pytest.mark.parametrize("entry, message", [
    ({"function": "no_such_module:sampler"}, r"sampler function 'no_such_module:sampler': cannot import"),
    ({"function": "json:nothing_here"}, r"module 'json' has no 'nothing_here'"),
    ({"function": "math:pi"}, r"sampler function 'math:pi' is a float, not a function"),
    ({"function": f"{__name__}:user_sampler", "params": {"gain": 2, "bias": 1}},
     r"user_sampler\(eps_model, x_T, grid, \*, generator, gain=..., bias=...\): got an unexpected keyword"),
])
def test_a_users_function_is_imported_and_checked_when_its_run_is_prepared(entry, message):
    spec = sampler_spec(entry)  # a spec imports nothing: every Snakemake job's DAG build makes one
    with pytest.raises(ValueError, match=message):
        prepare(spec, 10, ALPHAS)


def test_a_user_sampler_gets_its_parameters_and_the_grid():
    run = prepare({"function": f"{__name__}:user_sampler", "params": {"gain": 2.0}, "grid": "continuous",
                   "nfe_per_step": 2, "label": "mine"}, 9, ALPHAS)
    assert (run.label, run.nfe, run.grid.steps, run.spacing) == ("mine", 8, 4, "logSNR")
    x = torch.ones(2, 3)
    assert torch.equal(run(None, x), 2 * x)


def test_a_step_beyond_the_plan_costs_the_plans_step():
    # The official linear tau holds S + 1 steps when S does not divide T: a user's 2-evaluation step costs 2 more.
    run = prepare({"function": f"{__name__}:user_sampler", "nfe_per_step": 2}, 12, ALPHAS, "linear")
    assert (run.grid.steps, run.nfe) == (7, 14)
    assert run.describe()["function"] == f"{__name__}:user_sampler"


def test_paper_runs_are_the_paper_samplers():
    ts = timesteps(10, "quadratic")
    run = prepare(paper_entry(1.0), 10, ALPHAS, "quadratic")
    assert (run.label, run.nfe, run.distinct_times) == ("ddim-eta=1.0", 10, 10)
    assert run.describe()["grid_t"] == [*map(float, ts[::-1]), None]
    # The linear tau holds S + 1 steps when S does not divide T: each one costs an evaluation.
    assert prepare("ddim", 6, ALPHAS, "linear").nfe == 7


def test_trailing_spacing_is_diffusers_trailing():
    for steps in (5, 7, 10, 50):
        scheduler = DDIMScheduler(timestep_spacing="trailing")
        scheduler.set_timesteps(steps)
        grid = time_grid(ALPHAS, "discrete", steps, "trailing")
        assert grid.t[:-1].tolist() == scheduler.timesteps.tolist()


def test_trailing_spacing_has_exactly_s_timesteps_for_every_s():
    # diffusers' np.arange(T, 0, -T / S) reaches t = -1 by rounding for some S (61, 103, 201, ...); ours does not.
    for steps in range(1, 1001):
        t = time_grid(ALPHAS, "discrete", steps, "trailing").t[:-1]
        assert len(set(t)) == steps and t.min() >= 0 and t.max() == 999, steps
    with pytest.raises(ValueError, match=r"steps must be in \[1, T=1000\], got 1500"):
        time_grid(ALPHAS, "discrete", 1500, "trailing")


def test_grids_run_from_noise_to_their_end():
    for kind, spacings in (("discrete", ["linear", "quadratic", "trailing", "logSNR"]),
                           ("continuous", ["time_uniform", "time_quadratic", "logSNR"]), ("karras", ["karras"])):
        for spacing in spacings:
            grid = time_grid(ALPHAS, kind, 10, spacing)
            assert np.allclose(grid.alpha**2 + grid.sigma**2, 1) and (np.diff(grid.lambdas) >= 0).all()
            # Discrete and Karras grids end at the clean data; continuous ones at t = 0, as DPM-Solver's authors'.
            assert (grid.sigma[-1] == 0 and math.isnan(grid.t[-1])) == (kind != "continuous"), (kind, spacing)
    lam = time_grid(ALPHAS, "continuous", 8, "logSNR").lambdas
    assert np.allclose(np.diff(lam), np.diff(lam)[0])  # uniform in log-SNR


def test_interpolated_coefficients_are_exact_at_timesteps_and_invert():
    t = np.array([0.0, 1.0, 500.0, 999.0])
    alpha, sigma = coefficients(ALPHAS, t)
    assert np.allclose(alpha**2, ALPHAS[t.astype(int)], rtol=1e-14, atol=0)
    fractional = np.array([0.25, 17.5, 640.3, 998.9])
    alpha, sigma = coefficients(ALPHAS, fractional)
    assert np.allclose(time_of_lambda(ALPHAS, np.log(alpha / sigma)), fractional, atol=1e-9)
