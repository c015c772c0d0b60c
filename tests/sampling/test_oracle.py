"""The sampler against an exact oracle: a Gaussian mixture whose optimal eps is known in closed form."""

import pytest
import torch

from ddim_eval.sampling import discrete_grid, encode, make_alphas_cumprod, sample
from ddim_eval.sampling.oracle import demo_mixture, mixture_eps_model, moment_errors, sample_mixture

SHAPE = (1, 2, 2)
ALPHAS = make_alphas_cumprod()
MIXTURE = demo_mixture(SHAPE)
EPS = mixture_eps_model(MIXTURE, ALPHAS)


def test_oracle_is_the_minimum_mse_predictor():
    # E[eps | x_t] beats any other predictor in MSE; check against two perturbations of it by Monte Carlo.
    g = torch.Generator().manual_seed(0)
    x_0 = sample_mixture(MIXTURE, 50000, SHAPE, g)
    t = torch.full((50000,), 300)
    a = float(ALPHAS[300])
    z = torch.randn(x_0.shape, generator=g, dtype=x_0.dtype)
    x_t = a**0.5 * x_0 + (1 - a) ** 0.5 * z
    best = ((EPS(x_t, t) - z) ** 2).mean()
    for other in (EPS(x_t, t) * 1.05, EPS(x_t, torch.full((50000,), 250))):
        assert best < ((other - z) ** 2).mean()


def test_exact_moments_match_samples():
    x = sample_mixture(MIXTURE, 200000, SHAPE, torch.Generator().manual_seed(1))
    mean_err, cov_err = moment_errors(x, MIXTURE)
    assert mean_err < 5e-3 and cov_err < 5e-3


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_samples_converge_as_S_grows(eta):
    # Covariance error against the exact mixture, shared x_T, 40k samples: the Monte Carlo floor is about
    # 0.002 (seen over seeds), S = 100 sits near 0.01 and S = 10 near 0.1.
    x_T = torch.randn(40000, *SHAPE, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    errors = []
    for S in (10, 100, 1000):
        x = sample(EPS, x_T, discrete_grid(ALPHAS, S), eta, generator=torch.Generator().manual_seed(3))
        errors.append(moment_errors(x, MIXTURE)[1])
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[0] > 0.05 and errors[2] < 0.005, errors


def test_sigma_hat_converges_as_S_grows():
    x_T = torch.randn(40000, *SHAPE, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    errors = [moment_errors(sample(EPS, x_T, discrete_grid(ALPHAS, S), "sigma_hat",
                                   generator=torch.Generator().manual_seed(3)), MIXTURE)[1] for S in (10, 100, 1000)]
    assert errors[0] > errors[1] > errors[2], errors


def test_eta_zero_is_deterministic():
    x_T = torch.randn(256, *SHAPE, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    grid = discrete_grid(ALPHAS, 20)
    a = sample(EPS, x_T, grid, 0.0, generator=torch.Generator().manual_seed(5))
    b = sample(EPS, x_T, grid, 0.0, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b)
    c = sample(EPS, x_T, grid, 1.0, generator=torch.Generator().manual_seed(5))
    d = sample(EPS, x_T, grid, 1.0, generator=torch.Generator().manual_seed(6))
    assert (c - d).abs().max() > 0.1  # eta = 1 does draw noise


@pytest.mark.parametrize("eps_at", ["current", "next"])
def test_reconstruction_error_falls_with_S(eps_at):
    x_0 = sample_mixture(MIXTURE, 2000, SHAPE, torch.Generator().manual_seed(7))
    mse = []
    for S in (10, 100, 1000):
        grid = discrete_grid(ALPHAS, S)
        x_rec = sample(EPS, encode(EPS, x_0, grid, eps_at=eps_at), grid, 0.0)
        mse.append((((x_rec - x_0) / 2) ** 2).mean().item())  # per-dimension MSE on the [0, 1] scale
    assert mse[0] > mse[1] > mse[2], mse
    assert mse[2] < 1e-4, mse


def test_encode_reaches_the_prior():
    # Encoding data with S = 1000 lands near N(0, I) (with S = 100 the latent variance is still ~0.8).
    x_0 = sample_mixture(MIXTURE, 10000, SHAPE, torch.Generator().manual_seed(8))
    z = encode(EPS, x_0, discrete_grid(ALPHAS, 1000)).reshape(10000, -1)
    assert z.mean(0).abs().max() < 0.05
    assert (torch.cov(z.T) - torch.eye(4, dtype=z.dtype)).abs().max() < 0.05
