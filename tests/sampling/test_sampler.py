"""The sampler's interface: arguments, trajectories, sigma-hat specifics, slerp."""

import math

import numpy as np
import pytest
import torch

from ddim_eval.sampling import ddim_sigma, discrete_grid, encode, make_alphas_cumprod, sample, slerp, timesteps
from ddim_eval.sampling.oracle import demo_mixture, mixture_eps_model
from ddim_eval.sampling.times import grid_at

SHAPE = (1, 2, 2)
ALPHAS = make_alphas_cumprod()
EPS = mixture_eps_model(demo_mixture(SHAPE), ALPHAS)
X_T = torch.randn(8, *SHAPE, generator=torch.Generator().manual_seed(0))


def test_sigma_formula():
    a, a_next = float(ALPHAS[500]), float(ALPHAS[400])
    assert ddim_sigma(0.0, a, a_next) == 0.0
    # eta = 1 is DDPM's posterior std: sqrt(beta~) = sqrt((1 - a') / (1 - a) * (1 - a / a')).
    assert ddim_sigma(1.0, a, a_next) == pytest.approx(math.sqrt((1 - a_next) / (1 - a) * (1 - a / a_next)))
    assert ddim_sigma(1.0, a, 1.0) == 0.0  # the last step, to alpha = 1, adds no noise


def test_trajectory_lists_every_step():
    grid = discrete_grid(ALPHAS, 10, "quadratic")
    x, traj = sample(EPS, X_T, grid, 0.5, generator=torch.Generator().manual_seed(1), return_trajectory=True)
    assert len(traj.xs) == 11 and len(traj.x0_preds) == 10
    assert traj.xs[0] is X_T and torch.equal(traj.xs[-1], x)
    # The last step goes to alpha = 1, where x_0 is the prediction itself.
    torch.testing.assert_close(traj.x0_preds[-1], x)
    assert torch.equal(x, sample(EPS, X_T, grid, 0.5, generator=torch.Generator().manual_seed(1)))


def test_duplicate_timestep_is_an_identity_step_that_costs_a_call():
    calls = []

    def counting(x, t):
        calls.append(int(t[0]))
        return EPS(x, t)

    ts = timesteps(50, "quadratic")
    _, traj = sample(counting, X_T.double(), discrete_grid(ALPHAS, 50, "quadratic"), 1.0,
                     generator=torch.Generator().manual_seed(0), return_trajectory=True)
    assert len(calls) == 50 and calls == ts[::-1]
    # 0 -> 0 (the duplicate) is the second-to-last step: x is unchanged by it, whatever eta.
    torch.testing.assert_close(traj.xs[-2], traj.xs[-3], atol=1e-12, rtol=0)


def test_sigma_hat_clamps_x0():
    _, traj = sample(EPS, 5 * X_T, discrete_grid(ALPHAS, 10), "sigma_hat",
                     generator=torch.Generator().manual_seed(0), return_trajectory=True)
    assert all(x0.abs().max() <= 1 for x0 in traj.x0_preds)
    _, traj = sample(EPS, 5 * X_T, discrete_grid(ALPHAS, 10), 0.0, return_trajectory=True)
    assert max(x0.abs().max() for x0 in traj.x0_preds) > 1  # the DDIM path does not clip


def test_custom_schedule_is_used():
    alphas = make_alphas_cumprod(T=100, beta_start=1e-3, beta_end=0.2)
    eps = mixture_eps_model(demo_mixture(SHAPE), alphas)
    x = sample(eps, X_T, discrete_grid(alphas, 10))
    with pytest.raises(ValueError, match=r"timesteps must lie in \[0, 99\]"):
        sample(eps, X_T, grid_at(alphas, np.array(timesteps(10)[::-1], dtype=float), to_data=True))
    assert x.shape == X_T.shape


def test_dtype_and_device_follow_x():
    x = sample(EPS, X_T.double(), discrete_grid(ALPHAS, 5))
    assert x.dtype == torch.float64
    assert sample(EPS, X_T, discrete_grid(ALPHAS, 5)).dtype == torch.float32


@pytest.mark.parametrize("eta", [-0.1, float("nan"), "ddpm", True])
def test_bad_eta(eta):
    with pytest.raises(ValueError, match=r"eta must be a finite number >= 0 or 'sigma_hat'"):
        sample(EPS, X_T, discrete_grid(ALPHAS, 10), eta)


def test_eta_too_large():
    with pytest.raises(ValueError, match=r"eta=3 is too large for the step t=900 -> t'=800 of 10 steps: .* allowed here: eta <= 1.104"):
        sample(EPS, X_T, discrete_grid(ALPHAS, 10), 3.0)


def _hand_made(ts):
    """The discrete grid of a hand-made tau list (ascending, as `timesteps` returns them)."""
    return lambda: grid_at(ALPHAS, np.array(ts[::-1], dtype=float), to_data=True)


@pytest.mark.parametrize("grid, message", [
    (lambda: discrete_grid(ALPHAS, 0), r"steps must be in \[1, T=1000\], got 0"),  # an empty tau
    (_hand_made([0, 500, 1000]), r"timesteps must lie in \[0, 999\]"),
    (_hand_made([-1, 500]), r"timesteps must lie in \[0, 999\]"),
    (_hand_made([500, 100]), "timesteps must be ascending"),
    (_hand_made([0, 100.5]), r"this sampler walks a discrete grid \(integer timesteps"),
], ids=["empty", "above_T", "negative", "descending", "fractional"])
def test_bad_timesteps(grid, message):
    with pytest.raises(ValueError, match=message):
        sample(EPS, X_T, grid())
    with pytest.raises(ValueError, match=message):
        encode(EPS, X_T, grid())


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"noise has 3 tensors; need one per step \(10\)"):
        sample(EPS, X_T, discrete_grid(ALPHAS, 10), 1.0, noise=[torch.zeros_like(X_T)] * 3)
    with pytest.raises(ValueError, match=r"noise\[0\] has shape \(8, 4\) on cpu; need x_T's shape \(8, 1, 2, 2\)"):
        sample(EPS, X_T, discrete_grid(ALPHAS, 10), 1.0, noise=[torch.zeros(8, 4)] * 10)
    with pytest.raises(ValueError, match=r"eps_model returned shape \(8, 4\) for input shape \(8, 1, 2, 2\)"):
        sample(lambda x, t: x.reshape(8, 4), X_T, discrete_grid(ALPHAS, 10))
    with pytest.raises(ValueError, match="x_T must be a floating-point tensor"):
        sample(EPS, torch.zeros(8, 1, 2, 2, dtype=torch.long), discrete_grid(ALPHAS, 10))
    with pytest.raises(ValueError, match="eps_at must be one of"):
        encode(EPS, X_T, discrete_grid(ALPHAS, 10), eps_at="previous")


def test_slerp():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(1, 3, 8, 8, generator=g, dtype=torch.float64), torch.randn(1, 3, 8, 8, generator=g,
                                                                                     dtype=torch.float64)
    torch.testing.assert_close(slerp(z1, z2, 0.0), z1)
    torch.testing.assert_close(slerp(z1, z2, 1.0), z2)
    alphas = torch.arange(0.0, 1.01, 0.1, dtype=torch.float64).reshape(-1, 1, 1, 1)
    path = slerp(z1, z2, alphas)
    assert path.shape == (11, 3, 8, 8)
    # On unit vectors slerp walks the great circle at constant speed: unit norm, angle to z1 equal to a * theta.
    u1, u2 = z1 / z1.norm(), z2 / z2.norm()
    theta = torch.acos((u1 * u2).sum())
    for a, u in zip(alphas.flatten(), slerp(u1, u2, alphas)):
        assert u.norm().item() == pytest.approx(1.0, abs=1e-12)
        assert torch.acos((u * u1[0]).sum().clamp(-1, 1)).item() == pytest.approx(a.item() * theta.item(), abs=1e-6)
    torch.testing.assert_close(slerp(z1, z1.clone(), 0.3), z1)  # parallel inputs: the lerp limit, no NaN
    with pytest.raises(ValueError, match="slerp needs tensors of one shape"):
        slerp(z1, z2[:, :2], 0.5)


def test_timesteps_accepts_numpy_ints():
    ts = np.array(timesteps(10))
    assert sample(EPS, X_T, grid_at(ALPHAS, ts[::-1], to_data=True)).shape == X_T.shape
