"""Checks that need a CUDA device; skipped (saying so) elsewhere. Run on a GPU machine with `pytest -m gpu`."""

import pytest
import torch

from ddim_eval.sampling import encode, make_alphas_cumprod, sample, timesteps
from ddim_eval.sampling.oracle import demo_mixture, mixture_eps_model

from helpers import tiny_unet

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.mark.parametrize("eta", [0.0, 0.5, "sigma_hat"])
def test_sampling_loop_never_syncs_with_the_host(eta):
    unet, eps_model = tiny_unet()
    unet.cuda()
    x_T = torch.randn(4, 3, 8, 8, device="cuda")
    g = torch.Generator(device="cuda").manual_seed(0)
    ts = timesteps(20, "quadratic")
    sample(eps_model, x_T, ts, eta, generator=g)  # warm-up outside the check (cuDNN autotuning may sync)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        with pytest.raises(RuntimeError, match="synchroniz"):
            x_T.sum().item()  # the mode is armed: a host read of a device value fails
        sample(eps_model, x_T, ts, eta, generator=g)
        encode(eps_model, x_T, ts)
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_cuda_matches_cpu():
    shape = (3, 8, 8)
    eps_model = mixture_eps_model(demo_mixture(shape), make_alphas_cumprod())
    x_T = torch.randn(16, *shape, dtype=torch.float64)
    noise = [torch.randn(16, *shape, dtype=torch.float64) for _ in range(20)]
    cpu = sample(eps_model, x_T, timesteps(20), 1.0, noise=noise)
    gpu = sample(eps_model, x_T.cuda(), timesteps(20), 1.0, noise=[z.cuda() for z in noise])
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-10, rtol=0)
