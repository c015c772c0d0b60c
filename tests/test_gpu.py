"""Checks that need a CUDA device; skipped (saying so) elsewhere. Run on a GPU machine with `pytest -m gpu`."""

import pytest
import torch

from ddim_eval.sampling import discrete_grid, encode, make_alphas_cumprod, sample
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
    ts = discrete_grid(make_alphas_cumprod(), 20, "quadratic")
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
    cpu = sample(eps_model, x_T, discrete_grid(make_alphas_cumprod(), 20), 1.0, noise=noise)
    gpu = sample(eps_model, x_T.cuda(), discrete_grid(make_alphas_cumprod(), 20), 1.0, noise=[z.cuda() for z in noise])
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-10, rtol=0)


def _digits_samples(fast, n=6, batch_size=4):
    from ddim_eval.models.checkpoints import load_unet
    from ddim_eval.models.fastpath import fast_eps_model

    eps, applied, notes = fast_eps_model(load_unet("digits", device="cuda"), fast, batch_size=batch_size)
    x_T = torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(0)).cuda()
    g = torch.Generator(device="cuda").manual_seed(0)
    return torch.cat([sample(eps, x_T[i:i + batch_size], discrete_grid(make_alphas_cumprod(), 10), 1.0, generator=g)
                      for i in range(0, n, batch_size)]), applied, notes


@pytest.mark.parametrize("fast, tolerance", [("tf32", 1e-2), ("bf16", 0.15), ("fp16", 5e-2),
                                             ("bf16+compile+cuda_graphs", 0.15), ("fp32+compile+cuda_graphs", 1e-4)])
def test_fast_path_on_cuda_agrees_with_fp32(fast, tolerance):
    """Every setting runs on CUDA as asked (no fallback), the last partial batch included, within the CPU tests'
    tolerances (tf32's 10-bit mantissa: between fp16's and fp32's)."""
    from ddim_eval.models.fastpath import FastPath

    setting = FastPath.from_label(fast)
    reference, _, _ = _digits_samples(FastPath())
    x0, applied, notes = _digits_samples(setting)
    assert applied == setting and notes == []
    assert x0.shape == reference.shape and x0.dtype == torch.float32
    assert (x0 - reference).abs().max().item() < tolerance


@pytest.mark.parametrize("name", ["plms", "fpndm", "dpm_solver", "dpm_solver_pp", "unipc", "deis", "euler", "heun"])
def test_study_samplers_run_on_cuda_without_syncs_and_match_cpu(name):
    """Every registered sampler of the study: its coefficients are host floats, so the loop issues no host
    synchronisation on CUDA (the network aside: the tiny U-Net's warm-up runs first), and CUDA agrees with the CPU
    in float64 on the exact oracle."""
    from ddim_eval.sampling.run import prepare

    alphas = make_alphas_cumprod()
    run = prepare(name, 13, alphas, "linear")
    unet, unet_eps = tiny_unet()
    unet.cuda()
    x = torch.randn(4, 3, 8, 8, device="cuda")
    run(unet_eps, x)  # warm-up outside the check (cuDNN autotuning may sync)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        run(unet_eps, x)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    shape = (3, 8, 8)
    oracle = mixture_eps_model(demo_mixture(shape), alphas)
    x_T = torch.randn(16, *shape, dtype=torch.float64)
    torch.testing.assert_close(run(oracle, x_T.cuda()).cpu(), run(oracle, x_T), atol=1e-10, rtol=0)
