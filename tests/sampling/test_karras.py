"""Euler and Heun in sigma space (Karras et al. 2022, Algorithm 1, S_churn = 0) against diffusers'
EulerDiscreteScheduler and HeunDiscreteScheduler with use_karras_sigmas=True, and on their own.

Where they meet: linear betas (T = 1000), timestep_spacing="linspace" (the only spacing whose rho = 7 ramp runs
between the schedule's own ends, t = 999 and t = 0, as `karras_grid` does), eps prediction, the last sigma 0, and
x_T handed to diffusers as the VE state x_T / alpha_0 (not randn * init_noise_sigma: see below). Two conventions
differ: diffusers maps sigma -> timestep by interpolating log sigma linearly between integer timesteps, times.py by
interpolating log alpha; and diffusers' init_noise_sigma under "linspace" is sigma_max, not sqrt(sigma_max^2 + 1).
"""

import numpy as np
import pytest
import torch
from diffusers import EulerDiscreteScheduler, HeunDiscreteScheduler

from ddim_eval.sampling.ddim import ddim_sampler
from ddim_eval.sampling.karras import euler, heun
from ddim_eval.sampling.oracle import demo_mixture, mixture_eps_model
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.schedule import make_alphas_cumprod
from ddim_eval.sampling.times import TimeGrid, continuous_grid, discrete_grid, karras_grid

# diffusers' set_timesteps calls np.array on a torch tensor, which numpy 2 warns about on every call.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SHAPE = (1, 4, 4)
N = 64  # enough draws that some lie near the mixture's mode boundaries, where the flow is most sensitive
ALPHAS = make_alphas_cumprod()
CONFIG = dict(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
              prediction_type="epsilon", use_karras_sigmas=True)
PEERS = {"euler": (euler, EulerDiscreteScheduler, 1), "heun": (heun, HeunDiscreteScheduler, 2)}


def oracle():
    return mixture_eps_model(demo_mixture(SHAPE), ALPHAS)


def noise(n=N, seed=0):
    return torch.randn(n, *SHAPE, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def scheduler(name, steps, *, our_schedule=False, spacing="linspace"):
    sch = PEERS[name][1](**CONFIG, timestep_spacing=spacing)
    if our_schedule:  # our float64 alpha_t instead of diffusers' float32 cumprod, so that only conventions differ
        sch.alphas_cumprod = torch.from_numpy(ALPHAS)
    sch.set_timesteps(steps)
    # Its sigmas come out float32, and sqrt(sigma^2 + 1) computed in float32 scales the model's input by a relative
    # 6e-8 off, which the flow amplifies to 1.8e-5 for one draw in 64 (Heun, 5 steps); the same values in float64
    # compare the update, not that rounding. (Euler's step still rounds x to float32: `sample.to(torch.float32)`.)
    sch.sigmas = sch.sigmas.double()
    return sch


def diffusers_run(name, steps, eps_model, x_start, **kw):
    """The loop a diffusers user writes, from the VE state `x_start`; returns (x at sigma = 0, the scheduler)."""
    sch = scheduler(name, steps, **kw)
    x = x_start
    for t in sch.timesteps:
        eps = eps_model(sch.scale_model_input(x, t), t.expand(x.shape[0]))
        x = sch.step(eps, t, x).prev_sample
    return x, sch


def diffusers_nodes(name, sch):
    """diffusers' distinct (sigma, timestep) nodes, float64 (Heun's repeat all but the first node and the last 0)."""
    step = PEERS[name][2]
    t = sch.timesteps[::step].numpy().astype(np.float64)
    return sch.sigmas[::step].numpy().astype(np.float64)[:len(t)], t


def grid_of(s, t):
    """A TimeGrid through VE noise levels s (then s = 0) at network times t."""
    s = np.append(s, 0.0)
    alpha = 1 / np.sqrt(1 + s**2)
    return TimeGrid(np.append(t, np.nan), alpha, s * alpha, ALPHAS)


def ve_levels(grid):
    return grid.sigma / grid.alpha


@pytest.mark.parametrize("name", PEERS)
@pytest.mark.parametrize("steps", [5, 10, 25])
def test_matches_diffusers_on_diffusers_grid(name, steps):
    # diffusers' own float32 schedule; our grid built from its sigmas and timesteps. Measured max |diff|: Euler
    # 6.3e-7 / 4.5e-7 / 5.3e-7 (its x rounded to float32 every step), Heun 4.5e-14 / 3.6e-15 / 4.1e-15 at
    # 5 / 10 / 25 steps.
    eps_model, x_T = oracle(), noise()
    fn = PEERS[name][0]
    s0 = float(scheduler(name, steps).sigmas[0])
    peer, sch = diffusers_run(name, steps, eps_model, x_T * np.sqrt(1 + s0**2))
    ours = fn(eps_model, x_T, grid_of(*diffusers_nodes(name, sch)))
    assert (ours - peer).abs().max() <= (1e-5 if name == "euler" else 1e-12)


@pytest.mark.parametrize("name", PEERS)
def test_karras_grid_has_diffusers_sigmas_but_not_its_timesteps(name):
    # Same rho = 7 ramp between the same ends (float32 rounding of diffusers' sigmas only); the times differ by up
    # to 0.022 timesteps at 15 steps, since log sigma and log alpha are not both linear between timesteps.
    ours = karras_grid(ALPHAS, 15)
    s, t = diffusers_nodes(name, scheduler(name, 15, our_schedule=True))
    np.testing.assert_allclose(s, ve_levels(ours)[:-1], rtol=2e-7, atol=0)
    dt = np.abs(t - ours.t[:-1])
    assert dt.max() > 1e-2 and dt.max() < 0.05
    assert dt[0] < 1e-4 and dt[-1] < 1e-4  # the ends are integer timesteps (999 and 0), where both maps are exact


@pytest.mark.parametrize("name", PEERS)
@pytest.mark.parametrize("steps", [8, 15])
def test_time_map_is_the_whole_difference(name, steps):
    """Ours on its own `karras_grid` and diffusers on its own grid (both on our float64 schedule) place the same
    sigmas at different network times: ours at the t where log alpha, interpolated linearly between integer
    timesteps, gives sigma (times.py, the oracle's and the continuous samplers' convention), diffusers' at the t
    where log sigma, so interpolated, does. The outputs differ by more than 5e-5 (measured: Euler 1.0e-3 / 2.6e-4,
    Heun 7.2e-4 / 7.0e-5 at 8 / 15 steps); handing our grid diffusers' times, our sigmas unchanged, makes them
    agree to 1e-5 (measured: Euler 6.9e-7 / 7.5e-7, Heun 1.9e-6 / 7.0e-8: diffusers' sigmas are ours rounded to
    float32)."""
    eps_model, x_T = oracle(), noise()
    fn = PEERS[name][0]
    ours = karras_grid(ALPHAS, steps)
    peer, sch = diffusers_run(name, steps, eps_model, x_T / ours.alpha[0], our_schedule=True)
    assert (fn(eps_model, x_T, ours) - peer).abs().max() > 5e-5
    aligned = TimeGrid(np.append(diffusers_nodes(name, sch)[1], np.nan), ours.alpha, ours.sigma, ALPHAS)
    assert (fn(eps_model, x_T, aligned) - peer).abs().max() <= 1e-5


@pytest.mark.parametrize("name", PEERS)
def test_init_noise_sigma_and_timestep_spacing(name):
    """diffusers' init_noise_sigma is sigma_max under "linspace" and "trailing", sqrt(sigma_max^2 + 1) under
    "leading". Only "linspace" spans the schedule's ends (s at t = 999 and t = 0, as `karras_grid`): "leading"
    tops out at t = (S - 1) (1000 // S), "trailing" bottoms out at t = 1000 / S - 1. A user's randn * sigma_max is
    the VE state of x_T * sigma_0 (the VP sigma at node 0), not of x_T (that is x_T / alpha_0 = x_T
    sqrt(sigma_max^2 + 1)): a relative 1 / (2 sigma_max^2) = 2e-5 at the start, which moves the output by more than
    5e-5 at 8 steps (measured: Euler 2.0e-4, Heun 8.6e-4); our sampler from x_T * sigma_0 agrees to 1e-5
    (measured: Euler 1.7e-6, Heun 2.7e-14)."""
    ends = ve_levels(karras_grid(ALPHAS, 8))[[0, -2]]
    sigmas = {sp: scheduler(name, 8, our_schedule=True, spacing=sp) for sp in ("linspace", "leading", "trailing")}
    np.testing.assert_allclose(diffusers_nodes(name, sigmas["linspace"])[0][[0, -1]], ends, rtol=2e-7)
    assert diffusers_nodes(name, sigmas["leading"])[0][0] < 0.8 * ends[0]
    assert diffusers_nodes(name, sigmas["trailing"])[0][-1] > 10 * ends[1]
    for sp, sch in sigmas.items():
        s_max = float(sch.sigmas.max())
        assert float(sch.init_noise_sigma) == pytest.approx(s_max if sp != "leading" else np.sqrt(s_max**2 + 1))

    eps_model, x_T, fn = oracle(), noise(), PEERS[name][0]
    peer, sch = diffusers_run(name, 8, eps_model, x_T * sigmas["linspace"].init_noise_sigma, our_schedule=True)
    grid = grid_of(*diffusers_nodes(name, sch))
    assert (fn(eps_model, x_T, grid) - peer).abs().max() > 5e-5
    assert (fn(eps_model, x_T * grid.sigma[0], grid) - peer).abs().max() <= 1e-5


def counting(eps_model):
    calls = []

    def model(x, t):
        calls.append(x.shape[0])
        return eps_model(x, t)

    return model, calls


@pytest.mark.parametrize("name, budgets, too_small", [("euler", [1, 2, 7, 10], [0]), ("heun", [3, 4, 7, 10], [1, 2])])
def test_nfe_counted_exactly(name, budgets, too_small):
    for budget in budgets:
        run = prepare({"name": name, "params": {}}, budget, ALPHAS)
        model, calls = counting(oracle())
        x = run(model, noise(4))
        assert len(calls) == run.nfe and all(c == 4 for c in calls) and torch.isfinite(x).all()
        assert run.nfe == (budget if name == "euler" else 2 * run.grid.steps - 1) and run.nfe <= budget
        assert np.isnan(run.grid.t[-1]) and run.grid.sigma[-1] == 0
    for budget in too_small:
        with pytest.raises(ValueError):
            prepare({"name": name, "params": {}}, budget, ALPHAS)


@pytest.mark.parametrize("spacing", ["linear", "quadratic"])
def test_euler_in_sigma_is_ddim(spacing):
    # x' / alpha' = x / alpha + (s' - s) eps is DDIM's eq. 12 at eta = 0 divided by alpha' (Song et al., eq. 14).
    eps_model, x_T = oracle(), noise()
    grid = discrete_grid(ALPHAS, 10, spacing)
    torch.testing.assert_close(euler(eps_model, x_T, grid), ddim_sampler(eps_model, x_T, grid), atol=1e-10, rtol=0)


def test_heun_steps_into_zero_with_euler_only():
    eps_model, x_T = oracle(), noise()
    one_step = karras_grid(ALPHAS, 1)
    torch.testing.assert_close(heun(eps_model, x_T, one_step), euler(eps_model, x_T, one_step), atol=0, rtol=0)
    # A grid ending at t = 0 (sigma > 0, the network can be evaluated there): every step is a Heun step.
    model, calls = counting(eps_model)
    grid = continuous_grid(ALPHAS, 5, "logSNR")
    x = heun(model, x_T, grid)
    assert len(calls) == 10 and torch.isfinite(x).all()


def test_keeps_dtype_and_returns_the_vp_state():
    eps_model = oracle()
    x = euler(eps_model, noise(4).float(), continuous_grid(ALPHAS, 3, "logSNR"))
    assert x.dtype == torch.float32 and torch.isfinite(x).all()
    # At s_max the data prediction is x_T / alpha_0 - s_max eps; one Euler step into s = 0 returns exactly that.
    x_T, grid = noise(4), karras_grid(ALPHAS, 1)
    eps = eps_model(x_T, torch.full((4,), grid.t[0], dtype=torch.float64))
    torch.testing.assert_close(euler(eps_model, x_T, grid), (x_T - grid.sigma[0] * eps) / grid.alpha[0])


def test_heun_error_falls_faster_than_euler():
    # A loose sanity check of the orders (the convergence study measures slopes): against Heun at 320 steps, from
    # 20 to 80 steps Euler's RMS error falls 4.3x (first order: 4x) and Heun's 18x (second order: 16x).
    eps_model, x_T = oracle(), noise(32)
    reference = heun(eps_model, x_T, karras_grid(ALPHAS, 320))

    def error(fn, steps):
        return (fn(eps_model, x_T, karras_grid(ALPHAS, steps)) - reference).pow(2).mean().sqrt().item()

    e_euler, e_heun = [error(euler, s) for s in (20, 80)], [error(heun, s) for s in (20, 80)]
    assert e_heun[0] / e_heun[1] > 2 * e_euler[0] / e_euler[1]
    assert e_heun[1] < e_euler[1] / 5
