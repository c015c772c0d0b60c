"""The sampler against diffusers' DDIMScheduler / DDIMInverseScheduler, a peer implementation of eq. 12.

Where they meet: linear ("leading") spacing with S dividing T, steps_offset 0, set_alpha_to_one, no clipping.
"""

import pytest
import torch
from diffusers import DDIMScheduler
from diffusers_peers import DDIM_CONFIG, diffusers_encode, diffusers_sample

from ddim_eval.sampling import discrete_grid, encode, make_alphas_cumprod, sample, timesteps
from ddim_eval.sampling.oracle import demo_mixture, mixture_eps_model, sample_mixture

from helpers import tiny_unet

SHAPE = (3, 8, 8)
ALPHAS = make_alphas_cumprod()
N = 16


def oracle_model():
    mixture = demo_mixture(SHAPE)
    return mixture, mixture_eps_model(mixture, make_alphas_cumprod())


def shared_inputs(S, dtype):
    g = torch.Generator().manual_seed(S)
    x_T = torch.randn(N, *SHAPE, generator=g, dtype=dtype)
    return x_T, [torch.randn(N, *SHAPE, generator=g, dtype=dtype) for _ in range(S)]


@pytest.mark.parametrize("S", [10, 50])
def test_timesteps_match_leading_spacing(S):
    scheduler = DDIMScheduler(**DDIM_CONFIG)
    scheduler.set_timesteps(S)
    assert scheduler.timesteps.tolist()[::-1] == timesteps(S, "linear")


@pytest.mark.parametrize("S", [10, 50])
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_sample_matches_ddim_scheduler(S, eta):
    _, eps_model = oracle_model()
    x_T, noise = shared_inputs(S, torch.float32)
    ours = sample(eps_model, x_T, discrete_grid(ALPHAS, S), eta, noise=noise)
    peer = diffusers_sample(eps_model, x_T, S, eta, noise=noise)
    torch.testing.assert_close(ours, peer, atol=1e-5, rtol=0)
    if eta > 0:  # the noise really enters: other noise gives a visibly different sample
        other = sample(eps_model, x_T, discrete_grid(ALPHAS, S), eta, noise=[z.flip(0) for z in noise])
        assert (other - ours).abs().max() > 1e-2


@pytest.mark.parametrize("S", [10, 50])
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_sample_matches_ddim_scheduler_with_a_network(S, eta):
    # A random U-Net is no denoiser, so x grows to O(100): compare relative to that scale, in float64.
    _, eps_model = tiny_unet(dtype=torch.float64)
    x_T, noise = shared_inputs(S, torch.float64)
    ours = sample(eps_model, x_T, discrete_grid(ALPHAS, S), eta, noise=noise)
    peer = diffusers_sample(eps_model, x_T, S, eta, noise=noise)
    assert (ours - peer).abs().max() / peer.abs().max() < 1e-5


@pytest.mark.parametrize("S", [10, 50])
def test_encode_next_label_matches_inverse_scheduler(S):
    # DDIMInverseScheduler steps t -> t' with eps evaluated at (x_t, t'): our eps_at="next".
    mixture, eps_model = oracle_model()
    x_0 = sample_mixture(mixture, N, SHAPE, torch.Generator().manual_seed(0)).float()
    torch.testing.assert_close(encode(eps_model, x_0, discrete_grid(ALPHAS, S), eps_at="next"),
                               diffusers_encode(eps_model, x_0, S), atol=1e-5, rtol=0)


@pytest.mark.parametrize("S", [10, 50])
def test_encode_current_label_differs_only_in_the_label(S):
    # Our default evaluates eps at (x_t, t), the Euler step of the reversed ODE (paper eq. 14), so it differs
    # from DDIMInverseScheduler. Shifting the label the peer's model sees by one step (t' -> t, the first step
    # from the data staying at tau_1 = 0) turns one into the other: the convention is the whole difference.
    mixture, eps_model = oracle_model()
    x_0 = sample_mixture(mixture, N, SHAPE, torch.Generator().manual_seed(0)).float()
    stride = 1000 // S

    def shifted(x, t):
        return eps_model(x, (t - stride).clamp(min=0))

    ours = encode(eps_model, x_0, discrete_grid(ALPHAS, S))
    torch.testing.assert_close(ours, diffusers_encode(shifted, x_0, S), atol=1e-5, rtol=0)
    assert (ours - diffusers_encode(eps_model, x_0, S)).abs().max() > 1e-3


@pytest.mark.parametrize("S, spacing", [(10, "linear"), (50, "linear"), (10, "quadratic"), (20, "quadratic")])
def test_sigma_hat_matches_ddpm_scheduler_fixed_large(S, spacing):
    # The official ddpm_noisy step is DDPMScheduler's with clipped x0 and "fixed_large" variance over a custom
    # (strictly descending, so duplicate-free) sequence; it draws noise only while t > 0, as ours does.
    # DDPMScheduler keeps alpha in float32, where 1 - a_t / a_t' loses ~1e-3 of its value at small t; give it
    # our float64 schedule so that the comparison is of the update, not of the schedule's rounding.
    from diffusers import DDPMScheduler

    _, eps_model = oracle_model()
    ts = timesteps(S, spacing)
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
                              variance_type="fixed_large", clip_sample=True, clip_sample_range=1.0)
    scheduler.alphas_cumprod = torch.from_numpy(make_alphas_cumprod())
    scheduler.set_timesteps(timesteps=ts[::-1])
    x_T = torch.randn(N, *SHAPE, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    x = x_T
    for t in scheduler.timesteps:
        x = scheduler.step(eps_model(x, t.expand(N)), t, x, generator=g).prev_sample
    g = torch.Generator().manual_seed(1)
    noise = [torch.randn(x_T.shape, generator=g) if t > 0 else torch.zeros(x_T.shape) for t in ts[::-1]]
    torch.testing.assert_close(sample(eps_model, x_T, discrete_grid(ALPHAS, S, spacing), "sigma_hat", noise=noise), x, atol=1e-5, rtol=0)
