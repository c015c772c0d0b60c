"""The fast path on the CPU: each option agrees with strict fp32 within its tolerance, a smaller last batch neither
recompiles nor is dropped, options that cannot apply fall back and say so, and the batch size is measured once."""

import json
import time
import warnings

import pytest
import torch
from torch._dynamo.utils import counters

from ddim_eval.models.batch_size import cached_batch_size, measure_batch_size
from ddim_eval.models.checkpoints import load_unet
from ddim_eval.models.fastpath import FastPath, eager_fallback, fast_eps_model, fixed_batch, resolve
from ddim_eval.sampling import discrete_grid, make_alphas_cumprod, sample

X = torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
GRID = discrete_grid(make_alphas_cumprod(), 10, "linear")


def fast_sample(fast: FastPath, batch_size: int = 6) -> torch.Tensor:
    unet = load_unet("digits")  # the demo's trained DDPM: its samples lie in [-1, 1]
    eps, applied, notes = fast_eps_model(unet, fast, batch_size=batch_size)
    assert applied == fast and notes == []
    return sample(eps, X, GRID, 0.0)


@pytest.fixture(scope="module")
def fp32():
    return fast_sample(FastPath())


# Tolerances on x_0 in [-1, 1] after 10 steps (one uint8 level is 2/255 = 7.8e-3). Layout and compile only
# reorder float32 sums (measured here: 2e-6 and 7e-6); 16-bit formats round every activation of the network
# (measured: fp16, 11-bit mantissa, 1.7e-2; bf16, 8-bit mantissa, 5.3e-2 and 3.5e-2 with compile).
@pytest.mark.parametrize("fast, tolerance", [
    (FastPath(channels_last=True), 1e-4),
    (FastPath(compile=True), 1e-4),
    (FastPath("fp16"), 5e-2),
    (FastPath("bf16"), 0.15),
    (FastPath("bf16", channels_last=True, compile=True), 0.15),
])
def test_fast_options_agree_with_fp32(fp32, fast, tolerance):
    x0 = fast_sample(fast)
    assert x0.dtype == torch.float32  # the sampler state stays float32 whatever the network's precision
    error = (x0 - fp32).abs().max().item()
    assert error < tolerance
    if fast.precision != "fp32":
        assert error > 1e-5  # reduced precision really ran


def test_last_partial_batch_is_padded_not_recompiled():
    unet = load_unet("digits")
    eps, _, _ = fast_eps_model(unet, FastPath(compile=True), batch_size=4)
    counters.clear()
    full = sample(eps, X[:4], GRID, 0.0)
    last = sample(eps, X[4:], GRID, 0.0)  # 2 images: padded to 4
    assert counters["stats"]["unique_graphs"] == 1
    assert last.shape == (2, 1, 8, 8)
    torch.testing.assert_close(torch.cat([full, last]), fast_sample(FastPath()), atol=1e-5, rtol=0)


def test_fixed_batch_pads_and_splits():
    seen = []

    def model(x, t):
        seen.append(x.shape[0])
        return x * t[:, None, None, None]

    eps = fixed_batch(model, 4)
    x, t = torch.randn(10, 1, 2, 2), torch.arange(10)
    torch.testing.assert_close(eps(x, t), x * t[:, None, None, None])
    torch.testing.assert_close(eps(x[:3], t[:3]), x[:3] * t[:3, None, None, None])
    assert seen == [4, 4, 4, 4]


def test_options_that_cannot_apply_fall_back_and_say_so():
    applied, notes = resolve(FastPath("tf32", compile=True, cuda_graphs=True), "cpu")
    assert applied == FastPath("fp32", compile=True)
    assert any("tf32" in n and "fp32" in n for n in notes) and any("CUDA graphs" in n for n in notes)
    assert FastPath("bf16", True, True, True).label == "bf16+channels_last+compile+cuda_graphs"


@pytest.mark.parametrize("kwargs, message", [
    ({"precision": "int8"}, r"precision 'int8' is not one of \['fp32', 'tf32', 'bf16', 'fp16'\]"),
    ({"cuda_graphs": True}, "cuda_graphs needs compile"),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FastPath(**kwargs)


def test_a_failing_compiler_falls_back_to_eager_with_a_warning():
    calls = []

    def broken(x, t):
        raise RuntimeError("no C++ compiler\nmore detail")

    def eager(x, t):
        calls.append(len(x))
        return x

    eps = eager_fallback(broken, eager)
    with pytest.warns(UserWarning, match="torch.compile failed on this machine .RuntimeError: no C.. compiler.; "
                                         "the network runs eagerly"):
        eps(torch.zeros(2, 1), torch.zeros(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        eps(torch.zeros(3, 1), torch.zeros(3))
    assert calls == [2, 3]


def test_batch_size_is_where_throughput_saturates_and_is_cached(tmp_path):
    def model(x, t):  # a fixed cost per call plus a cost per image: b / (0.004 + 0.0005 b) images/s
        time.sleep(0.004 + 0.0005 * len(x))
        return x

    # Doubling 8 -> 16 gains 1.33x, 16 -> 32 only 1.2x: with a 1.25x threshold the measurement stops at 16.
    measured = measure_batch_size(model, (1, 2, 2), "cpu", max_batch=256, min_gain=1.25)
    assert measured["batch_size"] == 16 and [m["batch"] for m in measured["measured"]] == [1, 2, 4, 8, 16, 32]
    assert measured["measured"][0]["peak_memory_bytes"] is None  # measured on CUDA only
    calls = []
    measure = lambda: calls.append(1) or measured  # noqa: E731
    assert cached_batch_size("cpu | tiny | fp32", measure, tmp_path) == measured
    assert cached_batch_size("cpu | tiny | fp32", measure, tmp_path) == measured and len(calls) == 1
    assert list(json.loads((tmp_path / "batch_sizes.json").read_text())) == ["cpu | tiny | fp32"]
