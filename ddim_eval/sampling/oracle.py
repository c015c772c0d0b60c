"""An exact oracle: a Gaussian-mixture data distribution and its optimal noise predictor in closed form.

For x_0 ~ sum_k w_k N(mu_k, s_k^2 I) and x_t = sqrt(a_t) x_0 + sqrt(1 - a_t) eps, the marginal of x_t is
again a mixture, with means sqrt(a_t) mu_k and variances v_k = a_t s_k^2 + 1 - a_t, and the minimum-MSE
predictor is E[eps | x_t] = sqrt(1 - a_t) sum_k r_k(x_t) (x_t - sqrt(a_t) mu_k) / v_k, with posterior
responsibilities r_k. Used as `eps_model`, it isolates the sampler's error from any network's error.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ddim_eval.sampling.common import EpsModel
from ddim_eval.sampling.ddim import encode, sample
from ddim_eval.sampling.schedule import make_alphas_cumprod
from ddim_eval.sampling.times import discrete_grid


class GaussianMixture(NamedTuple):
    weights: Tensor  # [K], summing to 1
    means: Tensor  # [K, D]
    stds: Tensor  # [K], each component isotropic

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def mean(self) -> Tensor:
        return self.weights @ self.means

    def covariance(self) -> Tensor:
        centred = self.means - self.mean()
        within = (self.weights @ self.stds**2) * torch.eye(self.dim, dtype=self.means.dtype)
        return within + centred.T @ (self.weights[:, None] * centred)


def demo_mixture(shape: tuple[int, ...] = (1, 2, 2), dtype: torch.dtype = torch.float64) -> GaussianMixture:
    """A fixed, lopsided three-mode mixture inside [-1, 1]^D (D = prod(shape)), narrow enough that few-step
    samplers visibly blur it."""
    dim = int(np.prod(shape))
    rng = np.random.default_rng(0)
    means = rng.uniform(-0.7, 0.7, size=(3, dim))
    stds = np.array([0.05, 0.1, 0.2])
    weights = np.array([0.5, 0.3, 0.2])
    return GaussianMixture(*(torch.tensor(v, dtype=dtype) for v in (weights, means, stds)))


def sample_mixture(mixture: GaussianMixture, n: int, shape: tuple[int, ...], generator: torch.Generator | None = None
                   ) -> Tensor:
    """n exact draws from the mixture, reshaped to [n, *shape]."""
    k = torch.multinomial(mixture.weights, n, replacement=True, generator=generator)
    z = torch.randn(n, mixture.dim, generator=generator, dtype=mixture.means.dtype)
    return (mixture.means[k] + mixture.stds[k, None] * z).reshape(n, *shape)


def _alphas_at(alphas: Tensor, t: Tensor) -> Tensor:
    """alpha_t at integer t, or at fractional t with log alpha interpolated linearly between timesteps (the
    convention of `ddim_eval.sampling.times`, continued linearly past the ends), so the oracle is exact for
    continuous-time samplers too."""
    t = t.to(torch.float64)
    exact = (t == t.round()) & (t >= 0) & (t <= len(alphas) - 1)  # the schedule's own values, not exp(log) of them
    table = alphas[t.round().clamp(0, len(alphas) - 1).long()]
    lower = t.floor().clamp(0, len(alphas) - 2)
    w = t - lower
    log_a = alphas.log()
    lower = lower.long()
    return torch.where(exact, table, ((1 - w) * log_a[lower] + w * log_a[lower + 1]).exp())


def mixture_eps_model(mixture: GaussianMixture, alphas_cumprod: np.ndarray) -> EpsModel:
    """The optimal eps-predictor E[eps | x_t] of `mixture` under the schedule `alphas_cumprod`."""
    alphas = torch.as_tensor(np.asarray(alphas_cumprod), dtype=torch.float64)

    def eps_model(x: Tensor, t: Tensor) -> Tensor:
        flat = x.reshape(x.shape[0], -1).to(torch.float64)
        means = mixture.means.to(x.device, torch.float64)  # [K, D]
        a = _alphas_at(alphas.to(x.device), t)[:, None]  # [N, 1]
        var = a * mixture.stds.to(x.device, torch.float64) ** 2 + (1 - a)  # [N, K]
        # |x - sqrt(a) mu_k|^2 expanded, so that no [N, K, D] tensor is formed
        sq = (flat**2).sum(1, keepdim=True) - 2 * a.sqrt() * flat @ means.T + a * (means**2).sum(1)
        log_lik = -0.5 * (sq / var + mixture.dim * var.log()) + mixture.weights.to(x.device, torch.float64).log()
        w = torch.softmax(log_lik, dim=1) / var  # r_k / v_k, [N, K]
        eps = (1 - a).sqrt() * (flat * w.sum(1, keepdim=True) - a.sqrt() * w @ means)
        return eps.reshape(x.shape).to(x.dtype)

    return eps_model


def moment_errors(samples: Tensor, mixture: GaussianMixture) -> tuple[float, float]:
    """(|mean - mu|, |cov - Sigma|_F) of samples [N, ...] against the mixture's exact moments."""
    flat = samples.reshape(samples.shape[0], -1).to(torch.float64)
    mean_err = (flat.mean(0) - mixture.mean()).norm().item()
    cov_err = (torch.cov(flat.T).reshape(mixture.dim, mixture.dim) - mixture.covariance()).norm().item()
    return mean_err, cov_err


def oracle_sweep(steps: list[int], etas: list, spacing: str = "linear", n: int = 20000, seed: int = 0,
                 shape: tuple[int, ...] = (1, 2, 2)) -> list[dict]:
    """Sample the demo mixture with its exact eps for every (S, eta), from shared x_T (paired comparisons), and
    encode/decode held-out draws at every S. Rows: S, eta, network evaluations, distinct timesteps, the moment
    errors of the samples, and the reconstruction MSE on the [0, 1] scale (eta = 0 rows only)."""
    mixture = demo_mixture(shape)
    alphas = make_alphas_cumprod()
    eps_model = mixture_eps_model(mixture, alphas)
    x_T = torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    held_out = sample_mixture(mixture, min(n, 2000), shape, torch.Generator().manual_seed(seed + 1))
    rows = []
    for S in steps:
        grid = discrete_grid(alphas, S, spacing)
        ts = grid.t[:-1].tolist()
        recon = sample(eps_model, encode(eps_model, held_out, grid), grid, 0.0)
        recon_mse = (((recon - held_out) / 2) ** 2).mean().item()  # [-1, 1] -> [0, 1] scale
        for eta in etas:
            x = sample(eps_model, x_T, grid, eta, generator=torch.Generator().manual_seed(seed + 2))
            mean_err, cov_err = moment_errors(x, mixture)
            rows.append(dict(S=S, eta=eta, nfe=len(ts), distinct=len(set(ts)), mean_error=mean_err,
                             cov_error=cov_err, recon_mse=recon_mse if eta == 0 else None))
    return rows
