"""UniPC (bh1, bh2; data prediction) against diffusers' UniPCMultistepScheduler, and its own properties.

Where the conventions meet, the two agree to ~1e-14 in float64: same warm-up, same lower_order_final rule
(min(order, steps - i), no step-count condition, in the authors' code and in diffusers), the same corrector (UniC-p
after every step but the last, p the order of the step just taken; diffusers' disable_corrector=[] is the
authors' use_corrector), the same fixed rho = 1/2 for the order-2 predictor and order-1 corrector. They differ in
the grid: integer timesteps vs the authors' continuous time, and diffusers' final_sigmas_type ("zero" by default,
the clean data) vs the authors' end at t = 0 (diffusers' "sigma_min"); and at a step into sigma = 0, which
diffusers takes as NaN/inf unless it is a first-order bh2 step.
"""

from functools import cache

import numpy as np
import pytest
import torch
from diffusers import UniPCMultistepScheduler

from ddim_eval.sampling import sample
from ddim_eval.sampling.common import multistep_orders as step_orders
from ddim_eval.sampling.oracle import demo_mixture, mixture_eps_model
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.schedule import make_alphas_cumprod
from ddim_eval.sampling.times import continuous_grid, discrete_grid, grid_at, karras_grid
from ddim_eval.sampling.uni_pc import unipc

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # diffusers, numpy 2

SHAPE = (1, 4, 4)
ALPHAS = make_alphas_cumprod()
EPS = mixture_eps_model(demo_mixture(SHAPE), ALPHAS)
X_T = torch.randn(4, *SHAPE, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
SIGMAS = np.sqrt((1 - ALPHAS) / ALPHAS)  # diffusers' sigma = sigma / alpha, in float64


def diffusers_unipc(variant, order, steps, *, final="zero", lower_order_final=True, disable_corrector=(),
                    float64=True):
    """diffusers' loop (linear betas, T = 1000, "linspace" timesteps); returns (x, timesteps, scheduler).
    float64: replace its float32 sigmas by ours (that alone moves its result by ~1.7e-6 at 8 steps)."""
    scheduler = UniPCMultistepScheduler(solver_type=variant, solver_order=order, lower_order_final=lower_order_final,
                                        final_sigmas_type=final, disable_corrector=list(disable_corrector),
                                        predict_x0=True)
    scheduler.set_timesteps(steps)
    ts = scheduler.timesteps.numpy()
    if float64:
        scheduler.sigmas = torch.from_numpy(np.append(SIGMAS[ts], 0.0 if final == "zero" else SIGMAS[0]))
    x = X_T.clone()
    for t in scheduler.timesteps:
        x = scheduler.step(EPS(x, t.expand(len(x))), t, x).prev_sample
    return x, ts, scheduler


def grid_of(ts, final):
    """Our grid through diffusers' timesteps, ending where its final sigma says: clean data or t = 0."""
    if final == "zero":
        return grid_at(ALPHAS, ts.astype(np.float64), to_data=True)
    return grid_at(ALPHAS, np.append(ts, 0.0), to_data=False)


def ours(grid, variant, order, lower_order_final=True, **kw):
    return unipc(EPS, X_T, grid, order=order, variant=variant, lower_order_final=lower_order_final, **kw)


def max_diff(a, b):
    return (a - b).abs().max().item()


@pytest.mark.parametrize("variant", ["bh1", "bh2"])
@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("steps", [5, 8])
@pytest.mark.parametrize("lower_order_final", [True, False])
def test_matches_diffusers_ending_at_sigma_min(variant, order, steps, lower_order_final):
    # Measured max |diff| <= 5e-14 (float64). Flipping lower_order_final moves the result by 0.5 to 4.8 (a high-order
    # last step to t = 0, a long step in log-SNR, extrapolates badly).
    peer, ts, _ = diffusers_unipc(variant, order, steps, final="sigma_min", lower_order_final=lower_order_final)
    x = ours(grid_of(ts, "sigma_min"), variant, order, lower_order_final)
    assert max_diff(x, peer) <= 1e-5
    other = ours(grid_of(ts, "sigma_min"), variant, order, not lower_order_final)
    assert max_diff(other, peer) > 1e-4


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("steps", [5, 8])
def test_matches_diffusers_ending_at_clean_data(order, steps):
    # diffusers' default final_sigmas_type="zero" with bh2: the last step (first order) returns the data
    # prediction, as ours does. Measured max |diff| <= 6e-16.
    peer, ts, _ = diffusers_unipc("bh2", order, steps, final="zero")
    assert max_diff(ours(grid_of(ts, "zero"), "bh2", order), peer) <= 1e-5


@pytest.mark.parametrize("variant", ["bh1", "bh2"])
@pytest.mark.parametrize("order", [2, 3])
def test_continuous_times_are_the_difference(variant, order):
    """The authors evaluate at continuous times: their time_uniform grid is t = linspace(T - 1, 0, S + 1), fractional.
    diffusers' "linspace" timesteps are those rounded to integers (its timesteps are int64; with
    final_sigmas_type="sigma_min" it ends at t = 0, as the authors do). The results differ by > 1e-4 (measured
    5.0e-4 to 6.1e-4); on the rounded times ours agrees to 1e-5 (measured <= 8e-16). Odd S: even S put a node at 499.5, where rounding
    depends on the last bit of tau."""
    for steps in (5, 7):
        peer, ts, _ = diffusers_unipc(variant, order, steps, final="sigma_min")
        authors = continuous_grid(ALPHAS, steps, "time_uniform")
        assert np.array_equal(np.round(authors.t), np.append(ts, 0))
        assert max_diff(ours(authors, variant, order), peer) > 1e-4
        rounded = grid_at(ALPHAS, np.round(authors.t), to_data=False)
        assert max_diff(ours(rounded, variant, order), peer) <= 1e-5


@pytest.mark.parametrize("order", [2, 3])
def test_final_sigma_is_the_difference(order):
    """The authors end at t = 0 (sigma = 0.01, `t_0 = 1 / N`, no `denoise_to_zero` by default); diffusers' default
    final_sigmas_type="zero" ends at the clean data. Over the same timesteps the results differ by > 1e-2 (measured
    2.6e-2); ending our grid at the clean data makes them agree to 1e-5 (and diffusers' "sigma_min" matches
    ours ending at t = 0, above)."""
    peer, ts, _ = diffusers_unipc("bh2", order, 8, final="zero")
    assert max_diff(ours(grid_of(ts, "sigma_min"), "bh2", order), peer) > 1e-2
    assert max_diff(ours(grid_of(ts, "zero"), "bh2", order), peer) <= 1e-5


@pytest.mark.parametrize("variant, order, lower_order_final",
                         [("bh1", 1, True), ("bh1", 2, True), ("bh1", 3, True), ("bh1", 2, False), ("bh2", 2, False)])
def test_step_into_clean_data_is_first_order(variant, order, lower_order_final):
    """Into sigma = 0 (h = inf) diffusers computes alpha B(h) pred_res with B(h) = -h = -inf for bh1 (NaN even at
    order 1, where pred_res = 0) and r_k = 0 for any order >= 2 (inf, or a singular solve at order 3). Ours takes the
    first-order step there, x = the data prediction at the last evaluated node; diffusers' own data prediction
    there (its model_outputs[-1], computed before that step) equals ours to 1e-5 (measured <= 8e-16)."""
    peer, ts, scheduler = diffusers_unipc(variant, order, 6, final="zero", lower_order_final=lower_order_final)
    assert not torch.isfinite(peer).all()
    x = ours(grid_of(ts, "zero"), variant, order, lower_order_final)
    assert torch.isfinite(x).all()
    assert max_diff(x, scheduler.model_outputs[-1]) <= 1e-5


def test_order_3_without_lower_order_final_raises_in_diffusers_at_clean_data():
    with pytest.raises(RuntimeError):  # torch.linalg.LinAlgError: singular R, since r_k = 0
        diffusers_unipc("bh2", 3, 6, final="zero", lower_order_final=False)
    assert torch.isfinite(ours(grid_of(diffusers_unipc("bh2", 3, 6)[1], "zero"), "bh2", 3, False)).all()


@pytest.mark.parametrize("variant", ["bh1", "bh2"])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_predictor_alone_is_diffusers_with_every_corrector_disabled(variant, order):
    # disable_corrector lists the step indices whose corrector is skipped; all of them is UniP alone. Measured
    # max |diff| <= 6e-16; the corrector itself moves the result by > 1e-3 (measured 4.6e-3 to 1.6e-2).
    peer, ts, _ = diffusers_unipc(variant, order, 6, final="sigma_min", disable_corrector=range(6))
    x = ours(grid_of(ts, "sigma_min"), variant, order, corrector=False)
    assert max_diff(x, peer) <= 1e-5
    assert max_diff(ours(grid_of(ts, "sigma_min"), variant, order), peer) > 1e-3


def test_step_orders_follow_the_authors_warm_up_and_lower_order_final():
    # The authors: warm-up orders 1..order-1, then min(order, steps + 1 - step) for step = order..steps (1-based).
    assert step_orders(5, 3, True) == [1, 2, 3, 2, 1]
    assert step_orders(3, 3, True) == [1, 2, 1]
    assert step_orders(4, 2, True) == [1, 2, 2, 1]
    assert step_orders(12, 3, True) == [1, 2] + [3] * 8 + [2, 1]  # no "steps < 10" condition, unlike DPM-Solver
    assert step_orders(6, 3, False) == [1, 2, 3, 3, 3, 3]
    assert step_orders(1, 1, True) == [1]


@pytest.mark.parametrize("variant", ["bh1", "bh2"])
@pytest.mark.parametrize("spacing", ["linear", "quadratic"])
def test_order_1_predictor_is_ddim(variant, spacing):
    # UniP-1 in data prediction is sigma_t / sigma_s x + alpha_t (1 - e^{-h}) x0: DDIM's eq. 12 at eta = 0; B(h)
    # does not enter. The last step, into the clean data, returns x0 in both.
    grid = discrete_grid(ALPHAS, 10, spacing)
    ddim = sample(EPS, X_T, grid, 0.0)
    assert max_diff(ours(grid, variant, 1, corrector=False), ddim) <= 1e-10
    assert max_diff(ours(grid, variant, 1), ddim) > 1e-3  # UniC-1 makes it second order: not DDIM


def counting(eps_model):
    calls = []

    def model(x, t):
        calls.append(len(x))
        return eps_model(x, t)

    return model, calls


@pytest.mark.parametrize("order, budgets, too_small", [(1, [1, 2, 5], 0), (2, [2, 3, 4, 7], 1), (3, [3, 4, 5, 10], 2)])
@pytest.mark.parametrize("variant", ["bh1", "bh2"])
def test_nfe_counted_exactly(order, budgets, too_small, variant):
    params = {"order": order, "variant": variant}
    for budget in budgets:
        run = prepare({"name": "unipc", "params": params}, budget, ALPHAS)
        model, calls = counting(EPS)
        x = run(model, X_T)
        assert len(calls) == run.nfe == budget and set(calls) == {len(X_T)}
        assert torch.isfinite(x).all()
    if too_small:
        with pytest.raises(ValueError):
            prepare({"name": "unipc", "params": params}, too_small, ALPHAS)


@pytest.mark.parametrize("variant", ["bh1", "bh2"])
@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("lower_order_final", [True, False])
def test_finite_on_grids_ending_at_clean_data(variant, order, lower_order_final):
    for grid in (discrete_grid(ALPHAS, 6, "logSNR"), karras_grid(ALPHAS, 6)):
        x = ours(grid, variant, order, lower_order_final)
        assert torch.isfinite(x).all()


@cache
def reference_solution():
    return ours(continuous_grid(ALPHAS, 400, "logSNR"), "bh2", 3)


@pytest.mark.parametrize("variant", ["bh1", "bh2"])
def test_corrector_raises_the_order_by_one(variant):
    # Error against a 400-step UniPC-3 reference on the registry's grid (continuous, logSNR), from 20 to 40 steps:
    # it falls ~2x for UniP-1 (DDIM), and >= ~2^(p+1)x for UniPC-p. Measured: 1.96; 3.8-4.6, 7.6-8.9, 18-25 (the
    # same with a 1000-step reference).
    reference = reference_solution()

    def error(steps, order, **kw):
        return max_diff(ours(continuous_grid(ALPHAS, steps, "logSNR"), variant, order, **kw), reference)

    assert 1.5 < error(20, 1, corrector=False) / error(40, 1, corrector=False) < 2.5
    for order, least in ((1, 3.0), (2, 6.0), (3, 12.0)):
        assert error(20, order) / error(40, order) > least, order


def test_keeps_dtype_and_checks_arguments():
    grid = continuous_grid(ALPHAS, 6, "logSNR")
    x = unipc(EPS, X_T.float(), grid, order=2, variant="bh2", lower_order_final=True)
    assert x.dtype == torch.float32
    assert max_diff(x.double(), ours(grid, "bh2", 2)) < 1e-4
    with pytest.raises(ValueError):
        ours(grid, "bh3", 2)
    with pytest.raises(ValueError):
        ours(continuous_grid(ALPHAS, 2, "logSNR"), "bh2", 3)
    with pytest.raises(ValueError):  # a repeated node (h = 0)
        ours(grid_at(ALPHAS, np.array([999.0, 500.0, 500.0, 0.0]), to_data=False), "bh2", 2)
